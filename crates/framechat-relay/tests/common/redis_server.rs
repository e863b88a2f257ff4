//! A real `redis-server` for the cluster tests: a free 127.0.0.1 port, a
//! temporary directory, no persistence unless asked; killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::WAIT;

/// A running `redis-server`.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl RedisServer {
    /// Starts `redis-server` on a free port with Redis's default limits
    /// (among them `client-output-buffer-limit pubsub 32mb 8mb 60`).
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "framechat-redis-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let mut server = Self {
            port: free_port(),
            dir,
            child: None,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed: the cluster tests need a real Redis. \
                 Run `cargo xtask setup` (it installs Debian's redis-server)."
            ),
            Err(err) => panic!("cannot start redis-server: {err}"),
        };
        self.child = Some(child);
        let url = self.url();
        let ready = async {
            loop {
                let ping = redis::Client::open(url.as_str())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                    .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
                if ping.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(WAIT, ready)
            .await
            .expect("redis-server answers PING in time");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A command's answer.
    pub fn query<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> T {
        let client = redis::Client::open(self.url()).expect("url");
        let mut con = client.get_connection().expect("connect to redis-server");
        cmd.query(&mut con).expect("redis command")
    }

    /// Stops the server: with `save`, it writes its data first (a restart
    /// then finds it); without, the data is gone (a new epoch for every room).
    pub async fn stop(&mut self, save: bool) {
        if save {
            let _ = self.query::<redis::Value>(&mut redis::cmd("SAVE"));
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !save {
            let _ = std::fs::remove_file(self.dir.join("dump.rdb"));
        }
    }

    /// Starts it again on the same port and directory.
    pub async fn restart(&mut self) {
        self.spawn().await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
