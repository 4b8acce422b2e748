/**
 * The transformer stack of each part of Mirasol3B, from the config: one function, so a width, depth
 * or dropout is read in one place. Every audio+video stack (ViT backbone, Combiner, latent model,
 * reconstruction) has the shared width `config.width`; the text decoder has the text width and
 * cross-attends to h (width `config.width.dim`).
 */
import { type MirasolConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type * as transformer from "./layers/transformer.ts";

export type StackPart = "backbone" | "combiner" | "latent" | "reconstruction" | "text_decoder";

/** R, for the Combiner kinds that have layers. */
export function combinerLayers(c: MirasolConfig): number {
  if (c.combiner.kind === "none") {
    throw new ConfigError({ action: "init Combiner layers", reason: "combiner.kind 'none' has no layers" });
  }
  return c.combiner.layers;
}

function audioVideo(c: MirasolConfig, depth: number, cross = false): transformer.StackConfig {
  const { dim, heads, headDim, mlpHidden } = c.width;
  const block = { dim, heads, headDim, mlpHidden, dropout: c.dropout };
  return { depth, block: cross ? { ...block, cross: true, contextDim: dim } : block };
}

/** The stack of `part`: its depth, block widths, cross-attention and dropout rate. */
export function stackConfig(c: MirasolConfig, part: StackPart): transformer.StackConfig {
  switch (part) {
    case "backbone":
      return audioVideo(c, c.encoderDepth);
    case "combiner": // the Perceiver's latents cross-attend to the chunk tokens; TTM's processor does not
      return audioVideo(c, combinerLayers(c), c.combiner.kind === "perceiver");
    case "latent":
      return audioVideo(c, c.latentDepth);
    case "reconstruction":
      return audioVideo(c, c.reconstruction.depth);
    case "text_decoder": {
      const { depth, dim, heads, headDim, mlpHidden } = c.text;
      return {
        depth,
        block: { dim, heads, headDim, mlpHidden, cross: true, contextDim: c.width.dim, dropout: c.dropout },
      };
    }
  }
}
