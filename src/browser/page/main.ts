/** The page: a dropped model converted in the page (src/browser/index.ts), its download, summary and report. */
import { convertModel, checkOnWebGpu, tensorsFromJson, trainCheckInPage } from '../index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string, cls = '') => {
  $('status').textContent = text;
  $('status').className = cls;
};
let converted: Uint8Array | undefined;

async function handle(file: File): Promise<void> {
  const target = (document.querySelector('input[name=target]:checked') as HTMLInputElement).value as 'fp16' | 'bf16';
  status(`converting ${file.name} to ${target}…`);
  try {
    const r = await convertModel(new Uint8Array(await file.arrayBuffer()), {
      name: file.name,
      target,
      keepIoTypes: $<HTMLInputElement>('keep-io').checked || undefined,
      report: $<HTMLInputElement>('report').checked,
      onPhase: (phase) => status(`${file.name}: ${phase}…`),
    });
    converted = r.bytes;
    const a = $<HTMLAnchorElement>('download');
    if (a.href) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(new Blob([r.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    a.download = file.name.replace(/\.onnx$/i, '') + `.${target}.onnx`;
    a.hidden = !r.verified;
    $('summary').textContent = r.text;
    $('summary').hidden = false;
    $('gpu').hidden = !('gpu' in navigator);
    const frame = $<HTMLIFrameElement>('report-frame');
    frame.hidden = !r.reportHtml;
    if (r.reportHtml) frame.srcdoc = r.reportHtml;
    status(
      r.verified ? `${file.name}: converted and verified` : `${file.name}: verification failed`,
      r.verified ? 'ok' : 'fail',
    );
  } catch (e) {
    status(`${file.name}: ${(e as Error).message}`, 'fail');
  }
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void handle(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void handle(f);
});
$('gpu').addEventListener('click', async () => {
  if (!converted) return;
  const out = $('gpu-result');
  out.hidden = false;
  out.textContent = 'running on WebGPU…';
  try {
    const g = await checkOnWebGpu(converted);
    out.textContent = [
      `WebGPU adapter: ${g.adapter}${g.shaderF16 ? ' (shader-f16)' : ' (no shader-f16: fp16 storage emulated in f32)'}`,
      `${g.gpuNodes} nodes on the GPU, ${g.cpuNodes} on the CPU reference; ${g.ms.toFixed(1)} ms`,
      ...g.outputs.map(
        (o) =>
          `  ${o.name}: max|Δ|/max|ref| ${o.scaled.toExponential(2)} vs the CPU reference, cosine ${o.cosine.toFixed(6)}`,
      ),
    ].join('\n');
  } catch (e) {
    out.textContent = `WebGPU: ${(e as Error).message}`;
  }
});

// For scripts and tests driving the page.
Object.assign(globalThis, { amp: { convertModel, checkOnWebGpu, tensorsFromJson, trainCheckInPage } });
