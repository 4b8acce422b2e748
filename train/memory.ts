/**
 * A rough training-memory estimate, so a config that cannot fit is refused with a typed error before
 * a single tensor is allocated (wasm aborts past its 4 GiB address space and takes the backend with it).
 *
 * Estimate: parameters x 4 (params, gradients, AdamW's two moments) plus activations kept for the
 * backward pass: per transformer layer about 16 floats per token and width unit (q, k, v, attention
 * output, two MLP tensors of 4D, norms), plus the raw video and audio. It errs high on purpose;
 * attention logits (T^2) are counted per chunk of the encoders.
 *
 * Letters: B batch, T chunks, n tokens per chunk, D width.
 */
import { Data } from "effect";
import { paramBytes, paramShapes } from "../transforms/param_shapes.ts";
import {
  audioTokensPerChunk,
  combinerTokens,
  type MirasolConfig,
  videoTokensPerChunk,
} from "../model/config_schema.ts";
import { init } from "../model/mirasol.ts";

/** The config cannot fit in the memory the backend can address. */
export class MemoryError extends Data.TaggedError("MemoryError")<{
  readonly config: string;
  readonly batch: number;
  readonly neededBytes: number;
  readonly limitBytes: number;
  readonly backend: string;
}> {
  override get message(): string {
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    return `Cannot train config '${this.config}' with batch ${this.batch}: it needs about ${
      gib(this.neededBytes)
    } GiB ` +
      `(parameters, gradients, optimizer state, activations), more than the ${
        gib(this.limitBytes)
      } GiB the ` +
      `${this.backend} backend can address (use a smaller batch or config)`;
  }
}

/** Rough bytes one training step of `config` at `batch` needs. */
export function trainingBytes(
  config: MirasolConfig,
  batch: number,
): { params: number; activations: number; total: number } {
  const params = paramBytes(paramShapes(init, config));
  const { frames: N, chunks: T, height: H, width: W } = config.video;
  const D = config.width.dim;
  const n = videoTokensPerChunk(config) + audioTokensPerChunk(config);
  const m = combinerTokens(config);
  const perLayer = (tokens: number, width: number) =>
    16 * tokens * width + config.width.heads * tokens * tokens / T;
  const encoder = config.encoderDepth * perLayer(T * n, D);
  const combiner = (config.combiner.kind === "none" ? 0 : config.combiner.layers) * perLayer(T * n, D);
  const latent = config.latentDepth * perLayer(T * m, D);
  const text = config.text.depth * perLayer(config.text.maxLength, config.text.dim) +
    config.text.maxLength * config.text.vocab;
  const media = N * H * W * 3 +
    (config.audio === null ? 0 : N * config.audio.columnsPerFrame * config.audio.melBins);
  const activations = 4 * batch * (encoder + combiner + latent + text + media);
  return { params, activations, total: 4 * params + activations };
}

/** The bytes a backend can address: wasm32 has 4 GiB; elsewhere the machine's memory. */
export function backendLimitBytes(backend: string): number {
  if (backend === "wasm") return 4 * 2 ** 30;
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return Infinity;
  }
}

/** Throws MemoryError when a training step of `config` at `batch` cannot fit on `backend`. */
export function requireFits(config: MirasolConfig, batch: number, backend: string): void {
  const needed = trainingBytes(config, batch).total, limit = backendLimitBytes(backend);
  if (needed > limit) {
    throw new MemoryError({ config: config.name, batch, neededBytes: needed, limitBytes: limit, backend });
  }
}
