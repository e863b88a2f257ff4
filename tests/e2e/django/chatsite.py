"""A Django Channels site as people deploy one for framechat: the README's consumer, the
Redis channel layer (channels_redis, default capacity and expiry) and as many daphne
processes as you like:

    REDIS_URL=redis://127.0.0.1:6379/0 daphne -b 127.0.0.1 -p 8001 chatsite:application

Every binary message of /ws/chat/<room>/ goes to every client of the room, sender included.
"""
import os

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="framechat-e2e",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    INSTALLED_APPS=["channels"],
    ROOT_URLCONF=__name__,
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")]},
        }
    },
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

urlpatterns = []


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.group = "chat_" + self.scope["url_route"]["kwargs"]["room_name"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            await self.channel_layer.group_send(
                self.group, {"type": "chat.frame", "frame": bytes_data}
            )

    async def chat_frame(self, event):
        await self.send(bytes_data=event["frame"])


application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [re_path(r"^ws/chat/(?P<room_name>[^/]+)/$", ChatConsumer.as_asgi())]
        )
    }
)
