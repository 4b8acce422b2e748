/** notebooks/02_model_tour.ipynb: configs, the paper3b parameter tree, a synthetic clip, one forward pass. */
import { code, HTML, md, type NotebookSpec, PNG, SVG } from "./cell.ts";

export const modelTour: NotebookSpec = {
  file: "02_model_tour.ipynb",
  cells: [
    md(`
# 02 · A tour of the model

**What this shows.** The Mirasol3B configurations side by side; the parameter tree of the paper's 3B model,
computed from \`paramShapes\` without allocating a single weight; a synthetic audio-video clip rendered by
ffmpeg, its frames and its log-mel spectrogram cut at the same chunk boundaries; and one forward pass through
the \`avqa\` model with the shape of every stage: encoder tokens u_t, Combiner outputs x_t, latent outputs h_t
and text logits.

The pipeline (paper §3): each chunk of video + audio is encoded on its own (u_t, n tokens), the Combiner
squeezes the tokens of chunks 1..t into m tokens x_t, the latent causal model turns x_1..x_t into h_t (which
predicts x_{t+1}), and the text decoder cross-attends to all h_t. Runs in a few seconds on a 2-core CPU (wasm).
`),
    code(`
import * as tf from "@tensorflow/tfjs-core";
import { Effect, Stream } from "effect";
import {
  audioTokensPerChunk, avqa, combinerTokens, configs, countParams, decodeClip, exampleBatch, ffmpegLayer, forward, framesPerChunk,
  init, type MirasolConfig, paper3b, paramShapes, PRNGKey, setBackend, settleJupyterOutputs, showFrames, showParams, showSpectrogram, synthetic,
  treeDispose, videoTokensPerChunk,
} from "../mod.ts";

await setBackend("wasm");
settleJupyterOutputs(); // each cell waits for its pictures to be published before it ends (viz/jupyter_settle.ts)

/** A table the kernel renders as HTML (and prints as aligned text elsewhere). */
function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]) {
  const cells = rows.map((r) => r.map(String));
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const html = "<table><thead><tr>" + header.map((h) => \`<th>\${escape(h)}</th>\`).join("") + "</tr></thead><tbody>" +
    cells.map((r) => "<tr>" + r.map((c, i) => \`<td style="text-align:\${i === 0 ? "left" : "right"}">\${escape(c)}</td>\`).join("") + "</tr>").join("") +
    "</tbody></table>";
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const text = [line(header), ...cells.map(line)].join("\\n");
  return { [Symbol.for("Jupyter.display")]: () => ({ "text/html": html, "text/plain": text }) };
}
`),
    md(`
## Configurations side by side

\`tiny\` is for unit tests, \`small\` for CPU ablations (the paper's 32 frames in 4 chunks, §4.1), \`avqa\` for
the synthetic audio-video QA benchmark (notebook 03), \`base\` has ViT-B widths, and \`paper3b\` is the paper's
model (§3.6: 128 frames in 16 chunks of 8, m = 32, a Combiner of R = 8 layers). Parameter counts come from
\`paramShapes\` (abstract evaluation of \`init\`), so even the 3B model costs nothing to count.
`),
    code(
      `
const fmt = (n: number) => n >= 1e9 ? \`\${(n / 1e9).toFixed(2)}B\` : n >= 1e6 ? \`\${(n / 1e6).toFixed(1)}M\` : \`\${(n / 1e3).toFixed(1)}K\`;
const describe: [string, (c: MirasolConfig) => string | number][] = [
  ["width D / heads", (c) => \`\${c.width.dim} / \${c.width.heads}\`],
  ["encoder depth (shared ViT)", (c) => c.encoderDepth],
  ["frames N = T x K", (c) => \`\${c.video.frames} = \${c.video.chunks} x \${framesPerChunk(c)}\`],
  ["frame size", (c) => \`\${c.video.height}x\${c.video.width}\`],
  ["mel bins, columns per frame", (c) => \`\${c.audio.melBins}, \${c.audio.columnsPerFrame}\`],
  ["tokens per chunk n = video + audio", (c) => \`\${videoTokensPerChunk(c) + audioTokensPerChunk(c)} = \${videoTokensPerChunk(c)} + \${audioTokensPerChunk(c)}\`],
  ["Combiner", (c) => \`\${c.combiner.kind}\${"layers" in c.combiner ? \` R = \${c.combiner.layers}\` : ""}\`],
  ["Combiner outputs m per chunk", (c) => combinerTokens(c)],
  ["latent model depth", (c) => c.latentDepth],
  ["text decoder depth / vocab", (c) => \`\${c.text.depth} / \${c.text.vocab}\`],
  ["parameters", (c) => fmt(countParams(paramShapes(init, c)))],
];
const presets = Object.values(configs);
table(["", ...presets.map((c) => c.name)], describe.map(([name, f]) => [name, ...presets.map(f)]))
`,
      {
        expect: [HTML],
        expectText: ["tiny", "paper3b", "parameters", "3.03B", "tokens per chunk n = video + audio"],
      },
    ),
    md(`
## The paper3b parameter tree, without allocating it

\`paramShapes(init, paper3b)\` runs \`init\` abstractly: it returns the tree of shapes and dtypes that \`init\`
would build, and no tensor is created (the tensor count before and after is printed). Click a subtree to open
it: the audio+video part (shared ViT backbone, Combiner, latent model) against the text decoder.
`),
    code(
      `
const tensorsBefore = tf.memory().numTensors;
const paper3bShapes = paramShapes(init, paper3b);
console.log(\`paramShapes(init, paper3b): \${countParams(paper3bShapes).toLocaleString("en-US")} parameters, \${tf.memory().numTensors - tensorsBefore} tensors allocated\`);
showParams(paper3bShapes, { name: "paper3b" })
`,
      {
        expect: [HTML],
        expectText: ["3,033,292,288 parameters, 0 tensors allocated", "paper3b", "text_decoder", "combiner"],
      },
    ),
    md(`
## A synthetic clip, chunk by chunk

\`data/synthetic.ts\` renders audio-video QA clips with ffmpeg: 32 frames at 25 fps in T = 4 chunks of 8 frames;
a square bouncing on a dark background changes colour at every chunk boundary, and a tone sounds during exactly
one chunk over white noise. \`decodeClip\` decodes the mp4 back into frames and a log-mel spectrogram with 4
columns per frame, so chunk t of the audio covers exactly the frames of chunk t of the video.
`),
    code(
      `
const clipDir = await Deno.makeTempDir({ prefix: "mirasol_tour_" });
const [rendered] = await Effect.runPromise(
  Stream.runCollect(synthetic(clipDir, { seed: 2024, count: 1 })).pipe(Effect.provide(ffmpegLayer)),
);
const clip = await Effect.runPromise(
  decodeClip(rendered.path, { frames: 32, height: 32, width: 32, requireAudio: true }).pipe(Effect.provide(ffmpegLayer)),
);
const { scene } = rendered;
console.log(\`colours by chunk: \${scene.colours.join(", ")}; \${scene.pitch} tone (\${scene.pitchHz} Hz) in chunk \${scene.toneChunk}\`);
console.log(\`decoded: video [\${clip.videoShape.join(", ")}], log-mel [\${clip.audioShape.join(", ")}]\`);
for (const qa of rendered.questions) console.log(\`  Q: \${qa.question}  A: \${qa.answer}\`);
`,
      { expectText: ["colours by chunk: ", "decoded: video [32, 32, 32, 3], log-mel [128, 64]", "Q: "] },
    ),
    code(
      `
const T = avqa.video.chunks, K = framesPerChunk(avqa);
showFrames({ data: clip.video, shape: [T, K, 32, 32, 3] }, { title: "synthetic clip: 4 chunks of 8 frames" })
`,
      { expect: [PNG, SVG], expectText: ["video 32 frames of 32x32 in 4 chunk(s) of 8"] },
    ),
    md(`
The spectrogram with the same four chunk boundaries: the tone is the bright horizontal band inside one chunk,
the one the printout above names.
`),
    code(
      `
showSpectrogram({ data: clip.audio, shape: clip.audioShape }, { chunks: T, title: "log-mel, 4 columns per frame" })
`,
      { expect: [PNG, SVG], expectText: ["spectrogram 128 frames x 64 mel bins in 4 chunk(s)"] },
    ),
    md(`
## One forward pass, stage by stage

The \`avqa\` model (randomly initialised) on this clip. The text is a random token sequence of length 8 from
\`exampleBatch\`: notebook 03 trains the model on real questions. \`forward\` returns every stage, so the shapes
below are the tensors themselves, not a description of them.
`),
    code(
      `
const params = init(PRNGKey(0), avqa);
const text = exampleBatch(PRNGKey(1), avqa, { batch: 1 });
const batch = {
  ...text,
  video: tf.tensor(clip.video, [1, ...clip.videoShape]), // [B, N, H, W, 3]
  audio: tf.tensor(clip.audio, [1, ...clip.audioShape]), // [B, N * r, melBins]
};
const out = forward(params, batch, { config: avqa, train: false });
const shape = (t: tf.Tensor) => \`[\${t.shape.join(", ")}]\`;
table(["stage", "shape", "what it is"], [
  ["video", shape(batch.video), "B, N frames, H, W, RGB"],
  ["audio", shape(batch.audio), "B, N x r log-mel columns, mel bins"],
  ["u_t", shape(out.u), \`B, T, n = \${videoTokensPerChunk(avqa)} video + \${audioTokensPerChunk(avqa)} audio tokens, D: each chunk encoded on its own\`],
  ["x_t", shape(out.x), "B, T, m, D: Combiner outputs, x_t from u_1..u_t"],
  ["h_t", shape(out.h), "B, T, m, D: latent model outputs, h_t predicts x_{t+1}"],
  ["logits", shape(out.logits), "B, L, V: text decoder, cross-attending to all h_t"],
  ["reconstruction", shape(out.reconstruction.video), "B, T, P: chunk t's prediction of chunk t+1's small video"],
])
`,
      {
        expect: [HTML],
        expectText: [
          "u_t             [1, 4, 20, 128]",
          "x_t             [1, 4, 4, 128]",
          "h_t             [1, 4, 4, 128]",
          "logits          [1, 8, 256]",
        ],
      },
    ),
    code(`
tf.dispose([batch.video, batch.audio, text.text, text.textMask, text.lossMask, out.u, out.x, out.h, out.logits, out.reconstruction.video]);
treeDispose(params);
await Deno.remove(clipDir, { recursive: true });
`),
  ],
};
