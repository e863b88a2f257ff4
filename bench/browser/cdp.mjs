// A bare Chrome DevTools Protocol driver for the latency section of run.mjs.
//
// Playwright enables the Network domain on every page it drives, and Chromium then copies the
// payload of every WebSocket frame, base64-encoded, into a DevTools event for it: 12 MB of
// photo per latency round (A's frames, their echo, B's copy) serialised by the browser and
// parsed by Node while the clock runs, on a 2-core machine. Timed pages are therefore opened
// over a pipe (--remote-debugging-pipe, as Playwright does) with only the Page, DOM and
// Runtime calls the measurement needs, and no Network domain.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Starts `executable` with `args` and returns a connection to it. */
export async function launch(executable, args) {
  const profile = mkdtempSync(join(tmpdir(), 'framechat-bench-cdp-'));
  const child = spawn(
    executable,
    [...args, '--headless', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const cdp = new Connection(child.stdio[3], child.stdio[4]);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  cdp.close = async () => {
    await cdp.send('Browser.close').catch(() => {});
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    await within(30_000, 'Chromium to answer', cdp.send('Browser.getVersion'));
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}; Chromium said: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return cdp;
}

function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); }),
  ]);
}

/** Messages are JSON separated by a NUL byte, both ways (Chromium's remote_debugging_pipe). */
class Connection {
  constructor(write, read) {
    this.out = write;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    let buffered = '';
    read.setEncoding('utf8');
    read.on('data', (chunk) => {
      buffered += chunk;
      let end;
      while ((end = buffered.indexOf('\0')) >= 0) {
        const text = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        this.dispatch(JSON.parse(text));
      }
    });
    read.on('close', () => {
      for (const { reject } of this.pending.values()) reject(new Error('Chromium went away'));
      this.pending.clear();
    });
  }

  dispatch(msg) {
    if (msg.id === undefined) {
      this.listeners.get(`${msg.sessionId}:${msg.method}`)?.(msg.params);
      return;
    }
    const call = this.pending.get(msg.id);
    if (!call) return;
    this.pending.delete(msg.id);
    if (msg.error) call.reject(new Error(`${call.method}: ${msg.error.message}`));
    else call.resolve(msg.result);
  }

  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const msg = { id, method, params, ...(sessionId ? { sessionId } : {}) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.out.write(`${JSON.stringify(msg)}\0`);
    });
  }

  /** A new tab in a fresh browser context (its own storage, like a Playwright context). */
  async context() {
    const { browserContextId } = await this.send('Target.createBrowserContext', { disposeOnDetach: true });
    return {
      newPage: () => this.page(browserContextId),
      close: () => this.send('Target.disposeBrowserContext', { browserContextId }).catch(() => {}),
    };
  }

  async page(browserContextId) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank', browserContextId });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, targetId, sessionId);
    await page.send('Page.enable');
    return page;
  }
}

/** The few page calls run.mjs's latency rounds make, with Playwright's names and arguments. */
class Page {
  constructor(cdp, targetId, sessionId) {
    this.cdp = cdp;
    this.targetId = targetId;
    this.sessionId = sessionId;
    this.timeout = 30_000;
  }

  setDefaultTimeout(ms) {
    this.timeout = ms;
  }

  /** Only 'pageerror' (an uncaught exception), which is all run.mjs listens to. */
  on(event, fn) {
    if (event !== 'pageerror') throw new Error(`cdp.mjs pages have no '${event}' event`);
    this.cdp.listeners.set(`${this.sessionId}:Runtime.exceptionThrown`, ({ exceptionDetails: d }) =>
      fn(new Error(d.exception?.description ?? d.text)));
    this.send('Runtime.enable').catch(() => {});
  }

  send(method, params = {}) {
    return this.cdp.send(method, params, this.sessionId);
  }

  /** Runs `fn(arg)` in every document the page loads from now on, before its own scripts. */
  addInitScript(fn, arg) {
    return this.send('Page.addScriptToEvaluateOnNewDocument', { source: `(${fn})(${JSON.stringify(arg)})` });
  }

  /** Navigates; what the caller waits for next (a selector, a function) marks it loaded. */
  async goto(url) {
    const { errorText } = await this.send('Page.navigate', { url });
    if (errorText) throw new Error(`navigating to ${url}: ${errorText}`);
  }

  /** `fn(arg)`'s value (JSON-able), awaited when it is a promise. */
  async evaluate(fn, arg = undefined) {
    const { result, exceptionDetails } = await this.send('Runtime.evaluate', {
      expression: `(${fn})(${JSON.stringify(arg)})`,
      awaitPromise: true,
      returnByValue: true,
    });
    if (exceptionDetails) {
      throw new Error(`in page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    }
    return result.value;
  }

  /**
   * Resolves once `fn(arg)` is truthy, checked in the page every 10 ms. A navigation that
   * replaces the document while it waits is waited out too.
   */
  async waitForFunction(fn, arg = undefined, { timeout = this.timeout } = {}) {
    const until = Date.now() + timeout;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeout} ms waiting for ${fn}`);
      try {
        const ok = await this.evaluate(
          `async (a) => {
            const test = ${fn};
            const until = performance.now() + a.left;
            while (!test(a.arg)) {
              if (performance.now() > until) return false;
              await new Promise((r) => setTimeout(r, 10));
            }
            return true;
          }`,
          { arg, left },
        );
        if (ok) return;
      } catch (e) {
        // The document went away under the evaluation (navigation): look again in the new one.
        if (!/context|navigat|destroyed/i.test(e.message)) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  waitForSelector(selector, options) {
    return this.waitForFunction((s) => document.querySelector(s), selector, options);
  }

  async setInputFiles(selector, path) {
    const { root } = await this.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await this.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`no ${selector} in the page`);
    await this.send('DOM.setFileInputFiles', { nodeId, files: [path] });
  }

  bringToFront() {
    return this.send('Page.bringToFront');
  }

  close() {
    return this.cdp.send('Target.closeTarget', { targetId: this.targetId });
  }
}
