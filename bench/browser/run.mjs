// Node driver of framechat's browser benchmarks (started by `cargo xtask bench`, which builds
// and serves everything first). Runs the asked-for sections in one headless Chromium, prints
// the figures, and writes browser.json, browser.md and goals.tsv into --out.
//
//   node run.mjs --base http://127.0.0.1:PORT/ --out DIR [--sections scrub,wire,latency,memory]
//                [--quick] [--photo PATH] [--small PATH] [--url-cap N] [--chromium PATH]

import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const o = {
    base: '',
    out: '.',
    sections: ['scrub', 'wire', 'latency', 'memory'],
    quick: false,
    photo: '',
    small: '',
    urlCap: 120,
    chromium: '/usr/bin/chromium',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--base') o.base = next().replace(/\/?$/, '/');
    else if (a === '--out') o.out = next();
    else if (a === '--sections') o.sections = next().split(',').filter(Boolean);
    else if (a === '--quick') o.quick = true;
    else if (a === '--photo') o.photo = next();
    else if (a === '--small') o.small = next();
    else if (a === '--url-cap') o.urlCap = Number(next());
    else if (a === '--chromium') o.chromium = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.base) throw new Error('--base is required');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const results = { sections: {}, errors: {} };
const goals = [];
const markdown = [];

function goal(section, name, pass, measured) {
  goals.push({ section, name, pass, measured });
  console.log(`  ${pass ? 'PASS' : 'MISS'}  ${name}: ${measured}`);
}

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const x = (v) => `${v >= 100 ? v.toFixed(0) : v.toFixed(2)}×`;
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;

/** Rejects after `sec` seconds: no wait in the bench is unbounded. */
function within(sec, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${sec} s`)), sec * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- browser

async function launch() {
  return chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--js-flags=--expose-gc',
      // Background pages must not be throttled: page A sends while page B is in front.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

async function benchPage(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => console.log(`  [bench page error] ${e.message}`));
  await page.goto(new URL('bench/index.html', opts.base).href);
  await page.waitForFunction(() => window.framechatBench !== undefined);
  await page.evaluate(() => window.framechatBench.ready());
  return page;
}

// ---------------------------------------------------------------- scrub

async function scrubSection(context) {
  const page = await benchPage(context);
  const cfg = opts.quick
    ? { rounds: 5, canvasRounds: 2, warmup: 1, minSampleMs: 10 }
    : { rounds: 21, canvasRounds: 7, warmup: 3, minSampleMs: 25 };
  const r = await within(600, 'scrub bench', page.evaluate((c) => window.framechatBench.scrubBench(c), cfg));
  await page.close();
  const t = r.times;
  console.log(`  input: ${r.inputBytes} bytes, ${r.decodedSize.input.join('x')} (${r.segments.input.kinds.join(' ')})`);
  console.log(`  ${r.userAgent}`);
  const rows = [
    ['floor: TypedArray.set into a ready buffer', 'floor', r.inputBytes],
    ['framechat WASM scrub (copy in, scrub, copy out)', 'wasm', r.segments.wasm.bytes],
    ['  of which JS->WASM->JS copies alone (no scrub)', 'wasmCopyOnly', null],
    ['piexifjs remove() with ArrayBuffer <-> binary string', 'piexif', r.segments.piexif.bytes],
    ['piexifjs remove() alone (string in, string out)', 'piexifRemoveOnly', null],
    ['canvas re-encode (createImageBitmap + convertToBlob JPEG 0.92)', 'canvas', r.segments.canvas.bytes],
  ];
  console.log(`  ${'method'.padEnd(64)} ${'median ms'.padStart(10)} ${'p90 ms'.padStart(9)} ${'n'.padStart(4)} ${'x floor'.padStart(8)}  output`);
  const md = ['| method | median ms | p90 ms | samples | × floor | output bytes |', '|---|---:|---:|---:|---:|---:|'];
  for (const [label, key, out] of rows) {
    const s = t[key];
    const rel = s.median / t.floor.median;
    console.log(
      `  ${label.padEnd(64)} ${ms(s.median).padStart(10)} ${ms(s.p90).padStart(9)} ${String(s.n).padStart(4)} ${x(rel).padStart(8)}  ${out ?? '-'}`,
    );
    md.push(`| ${label} | ${ms(s.median)} | ${ms(s.p90)} | ${s.n}${r.batch[key] > 1 ? ` (×${r.batch[key]} calls)` : ''} | ${x(rel)} | ${out ?? '-'} |`);
  }
  const seg = r.segments;
  const show = (k) => {
    const s = seg[k];
    return `EXIF ${s.exif}${s.exif ? ` (IFD0 tags ${s.exifTags.map((v) => '0x' + v.toString(16)).join(',')}${s.exifMoreIfds ? ', +IFD1' : ''})` : ''}, XMP ${s.xmp}, IPTC ${s.iptc}, COM ${s.com}, ICC ${s.icc}, other APPn ${s.otherApp}`;
  };
  for (const k of ['input', 'wasm', 'piexif', 'canvas']) console.log(`  segments ${k.padEnd(7)} ${show(k)}`);
  md.push('', '| output | segments |', '|---|---|');
  for (const k of ['input', 'wasm', 'piexif', 'canvas']) md.push(`| ${k} | ${show(k)} |`);
  console.log(`  our report: ${JSON.stringify(r.report)}`);

  const ours = seg.wasm;
  const oursClean =
    ours.xmp === 0 && ours.iptc === 0 && ours.com === 0 && ours.otherApp === 0 &&
    !ours.exifMoreIfds && ours.exifTags.every((tag) => tag === 0x0112);
  const theyLeave = [seg.piexif.xmp && 'XMP', seg.piexif.iptc && 'IPTC', seg.piexif.com && 'COM'].filter(Boolean);
  const iccOf = (k) => seg[k].iccProfiles.map((p) => `${p.size} bytes ${p.cmm.trim() || '?'} ${p.space.trim()} #${p.fnv1a}`).join(' + ') || 'none';
  const sameIcc = (k) => iccOf(k) === iccOf('input');
  for (const k of ['input', 'wasm', 'piexif', 'canvas']) console.log(`  ICC ${k.padEnd(7)} ${iccOf(k)}`);
  const canvasIcc = sameIcc('canvas') ? 'keeps the ICC profile' : seg.canvas.icc === 0 ? 'LOSES the ICC profile' : `REPLACES the ICC profile with its own (${iccOf('canvas')})`;
  const vsFloor = t.wasm.median / t.floor.median;
  const vsPiexif = t.piexif.median / t.wasm.median;
  const vsCanvas = t.canvas.median / t.wasm.median;
  goal('scrub', 'WASM scrub ≤ 3× the copy floor', vsFloor <= 3, `${x(vsFloor)} (${ms(t.wasm.median)} ms vs ${ms(t.floor.median)} ms)`);
  goal(
    'scrub',
    'WASM scrub ≥ 2× faster than piexifjs, removing what it leaves',
    vsPiexif >= 2 && oursClean && theyLeave.length > 0,
    `${x(vsPiexif)} faster (${ms(t.piexif.median)} ms vs ${ms(t.wasm.median)} ms; remove() alone ${ms(t.piexifRemoveOnly.median)} ms); ` +
      `piexifjs leaves ${theyLeave.join('+') || 'nothing'}, ours leaves ${oursClean ? 'none of them (EXIF: Orientation only)' : 'SOME'}`,
  );
  goal(
    'scrub',
    'WASM scrub ≥ 100× faster than canvas re-encoding',
    vsCanvas >= 100,
    `${x(vsCanvas)} (${ms(t.canvas.median)} ms vs ${ms(t.wasm.median)} ms); canvas ${canvasIcc}, ours ${sameIcc('wasm') ? 'keeps it byte for byte' : 'CHANGES it'}; canvas ` +
      `re-compresses (${r.inputBytes} -> ${seg.canvas.bytes} bytes)`,
  );
  results.sections.scrub = r;
  markdown.push('### Scrub (same page, same 12 MP JPEG)', '', ...md, '');
}

// ---------------------------------------------------------------- wire

async function wireSection(context) {
  const page = await benchPage(context);
  const r = await within(120, 'wire bench', page.evaluate(() => window.framechatBench.wireBench()));
  await page.close();
  const ratio = r.base64JsonBytes / r.framedBytes;
  const overhead = (r.framedBytes - r.payloadBytes) / r.payloadBytes;
  console.log(`  image after scrubbing: ${r.payloadBytes} bytes`);
  console.log(`  framechat frames:      ${r.framedBytes} bytes in ${r.frames} frames (largest ${r.maxFrame}); framing +${(overhead * 100).toFixed(3)} %; with WebSocket headers ${r.framedWithWs}`);
  console.log(`  base64 JSON text:      ${r.base64JsonBytes} bytes in 1 message; +${(((r.base64JsonBytes - r.payloadBytes) / r.payloadBytes) * 100).toFixed(2)} %; with WebSocket header ${r.base64JsonWithWs}`);
  console.log(`  base64 JSON / frames:  ${ratio.toFixed(4)}`);
  results.sections.wire = { ...r, ratio, framingOverhead: overhead };
  markdown.push(
    '### Bytes on the wire (same scrubbed image)',
    '',
    '| encoding | bytes | messages | overhead vs payload |',
    '|---|---:|---:|---:|',
    `| framechat frames (default 256 KiB budget) | ${r.framedBytes} | ${r.frames} | +${(overhead * 100).toFixed(3)} % |`,
    `| base64 in JSON text \`{"type":"image","name":…,"data":…}\` | ${r.base64JsonBytes} | 1 | +${(((r.base64JsonBytes - r.payloadBytes) / r.payloadBytes) * 100).toFixed(2)} % |`,
    '',
    `base64 JSON is ${ratio.toFixed(4)}× our frames (WebSocket headers included: ${r.base64JsonWithWs} vs ${r.framedWithWs}).`,
    '',
  );
}

// ---------------------------------------------------------------- main

const sections = { scrub: scrubSection, wire: wireSection };

async function main() {
  mkdirSync(opts.out, { recursive: true });
  const browser = await launch();
  results.browser = `${browser.version()}`;
  try {
    for (const name of opts.sections) {
      const run = sections[name];
      if (!run) {
        console.log(`\n--- ${name}: unknown section, skipped`);
        continue;
      }
      console.log(`\n--- ${name}`);
      const context = await browser.newContext();
      try {
        await run(context);
      } catch (e) {
        console.log(`  ERROR ${name}: ${e.stack || e}`);
        results.errors[name] = String(e.message || e);
        markdown.push(`### ${name}`, '', `Not measured: ${String(e.message || e).split('\n')[0]}`, '');
      } finally {
        await context.close().catch(() => {});
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  results.goals = goals;
  writeFileSync(join(opts.out, 'browser.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(opts.out, 'browser.md'), markdown.join('\n'));
  writeFileSync(
    join(opts.out, 'goals.tsv'),
    goals.map((g) => [g.pass ? 'PASS' : 'MISS', g.section, g.name, g.measured].join('\t')).join('\n') + (goals.length ? '\n' : ''),
  );
  const errors = Object.keys(results.errors);
  if (errors.length) {
    console.log(`\nsections with errors: ${errors.join(', ')}`);
    process.exitCode = 2;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
