/**
 * The named benchmark workload `wsmall` (issue 10 §4), derived from the `small` preset so it moves
 * with the model's schema:
 *   batch 2; 32 frames of 64x64 in T = 4 chunks of K = 8; log-mel 64 bins, r = 4 columns a frame;
 *   width D = 256 in 4 heads of 64 (MLP hidden 4D = 1024, the ViT ratio); 2 layers in every stack
 *   (backbone, Combiner, latent model, reconstruction, text decoder); m = 8 Combiner outputs;
 *   text 32 tokens over a vocabulary of 256; AdamW.
 * Not fixed by the issue, kept from `small`: its three tube kinds (16 + 9 + 16 = 41 video tokens per
 * chunk), audio patches of 8 columns x all 64 bins (4 audio tokens per chunk), the reconstruction
 * target (2 x 8 x 8 pooled frames), mask ratio 0.75, no dropout, tied text embeddings.
 */
import { type MirasolConfig, small, validateConfig } from "../model/config.ts";

const width = { dim: 256, heads: 4, headDim: 64, mlpHidden: 1024 };

export const wsmall: MirasolConfig = validateConfig({
  ...small,
  name: "wsmall",
  width,
  encoderDepth: 2,
  combiner: { kind: "causal_transformer", layers: 2, outTokens: 8 },
  latentDepth: 2,
  reconstruction: { ...small.reconstruction, depth: 2 },
  text: { ...small.text, vocab: 256, maxLength: 32, ...width, depth: 2 },
  dropout: 0,
});

/** Batch size and text length of the workload (the batch itself comes from `exampleBatch`). */
export const WSMALL_BATCH = 2;
export const WSMALL_TEXT = 32;
