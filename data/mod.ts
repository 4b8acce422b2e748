/** The input pipeline: media decoding, log-mel, alignment, synthetic clips, text, datasets, shards. */
export * from "./media_mod.ts";
export type { Batch, Clip, Example } from "./types.ts";
export * from "./text_mod.ts";
