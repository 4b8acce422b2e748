/**
 * Pre-LN transformer block and stack (Xiong et al. 2020; the ViT/big_vision Encoder1DBlock layout):
 *
 *   x = x + drop(attn(ln1(x), mask))
 *   x = x + drop(cross(ln_cross(x), context, contextMask))   (decoder blocks only)
 *   x = x + mlp(ln2(x))                                        (mlp drops after GELU and output)
 *
 * A stack is `depth` blocks and a final LayerNorm. Cached variants run incremental decoding: each
 * block keeps its own self-attention KVCache, and cross-attention keys/values are projected once
 * (`stackCrossKV`) instead of at every step.
 *
 * Letters: B batch, T tokens, Tn new tokens, S context length, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { foldIn, foldInMany, keysFor } from "../../transforms/random.ts";
import { ConfigError, requirePositiveInts } from "../errors.ts";
import { expectShape } from "../shape.ts";
import * as attention from "./attention.ts";
import * as dropout from "./dropout.ts";
import * as layerNorm from "./layer_norm.ts";
import * as mlp from "./mlp.ts";

export type BlockConfig = {
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly mlpHidden: number;
  /** adds cross-attention to a context (the text decoder's blocks) */
  readonly cross?: boolean;
  /** width of the context, when it differs from dim */
  readonly contextDim?: number;
  /**
   * Dropout rate the model trains this block with. Params carry no config, so `init` ignores it:
   * pass it to `applyBlock`/`applyStack` as `{dropout}`.
   */
  readonly dropout?: number;
};

export type BlockParams = {
  readonly ln1: layerNorm.LayerNormParams;
  readonly attn: attention.AttentionParams;
  readonly ln_cross?: layerNorm.LayerNormParams;
  readonly cross?: attention.AttentionParams;
  readonly ln2: layerNorm.LayerNormParams;
  readonly mlp: mlp.MlpParams;
};

export type StackConfig = { readonly depth: number; readonly block: BlockConfig };
export type StackParams = {
  readonly blocks: readonly BlockParams[];
  readonly ln_final: layerNorm.LayerNormParams;
};

export type BlockOptions = {
  /** self-attention mask, broadcastable to [B, H, T, T] (e.g. chunkCausalMask) */
  readonly mask?: tf.Tensor;
  /** cross-attention source [B, S, contextDim]; required exactly when the block has cross-attention */
  readonly context?: tf.Tensor;
  /** cross-attention mask, broadcastable to [B, H, T, S] */
  readonly contextMask?: tf.Tensor;
  readonly train?: boolean;
  readonly key?: Key;
  /** residual and MLP dropout rate (default 0) */
  readonly dropout?: number;
};

export type CachedOptions = {
  /** self-attention mask [Tn, S_old + Tn] (absent: every new token sees every position) */
  readonly mask?: tf.Tensor;
  /** the block's cross-attention keys/values, from `attention.crossKV` */
  readonly crossKV?: attention.KVCache;
  readonly contextMask?: tf.Tensor;
};

export function initBlock(key: Key, c: BlockConfig): BlockParams {
  requirePositiveInts("init transformer block", {
    dim: c.dim,
    heads: c.heads,
    headDim: c.headDim,
    mlpHidden: c.mlpHidden,
    contextDim: c.contextDim,
  });
  if (c.contextDim !== undefined && !c.cross) {
    throw new ConfigError({ action: "init transformer block", reason: "contextDim is set but cross is not" });
  }
  const k = keysFor(key, ["ln1", "attn", "ln_cross", "cross", "ln2", "mlp"]);
  const { dim, heads, headDim } = c;
  const self = {
    ln1: layerNorm.init(k.ln1, { dim }),
    attn: attention.init(k.attn, { dim, heads, headDim }),
    ln2: layerNorm.init(k.ln2, { dim }),
    mlp: mlp.init(k.mlp, { dim, hidden: c.mlpHidden }),
  };
  if (!c.cross) return self;
  return {
    ...self,
    ln_cross: layerNorm.init(k.ln_cross, { dim }),
    cross: attention.init(k.cross, { dim, heads, headDim, kvDim: c.contextDim ?? dim }),
  };
}

function checkCross(p: BlockParams, hasContext: boolean, what: string): void {
  if (p.cross && !hasContext) {
    throw new ConfigError({
      action: "apply transformer block",
      reason: `the block has cross-attention but no ${what} was given`,
    });
  }
  if (!p.cross && hasContext) {
    throw new ConfigError({
      action: "apply transformer block",
      reason: `a ${what} was given but the block has no cross-attention`,
    });
  }
}

/** x [B, T, D] -> [B, T, D]. */
export function applyBlock(p: BlockParams, x: tf.Tensor, opts: BlockOptions = {}): tf.Tensor3D {
  expectShape(x, ["B", "T", p.ln1.scale.shape[0]], "transformer block", "x");
  checkCross(p, opts.context !== undefined, "context");
  const train = opts.train ?? false;
  const rate = opts.dropout ?? 0;
  const k = opts.key ? keysFor(opts.key, ["attn", "cross", "mlp"]) : undefined;
  const drop = (y: tf.Tensor, key: Key | undefined) => dropout.apply(y, { rate, train, key });
  return tf.tidy(() => {
    let h: tf.Tensor = x;
    h = tf.add(h, drop(attention.apply(p.attn, layerNorm.apply(p.ln1, h), { mask: opts.mask }), k?.attn));
    if (p.cross && p.ln_cross) {
      const y = attention.apply(p.cross, layerNorm.apply(p.ln_cross, h), {
        context: opts.context,
        mask: opts.contextMask,
      });
      h = tf.add(h, drop(y, k?.cross));
    }
    return tf.add(
      h,
      mlp.apply(p.mlp, layerNorm.apply(p.ln2, h), { train, key: k?.mlp, dropout: rate }),
    ) as tf.Tensor3D;
  });
}

/**
 * One block on Tn new tokens with its self-attention cache (inference: no dropout).
 * x [B, Tn, D], cache [B, H, S, Dh] | null -> {y: [B, Tn, D], cache: [B, H, S + Tn, Dh]}.
 */
export function applyBlockCached(
  p: BlockParams,
  x: tf.Tensor,
  cache: attention.KVCache | null,
  opts: CachedOptions = {},
): { y: tf.Tensor3D; cache: attention.KVCache } {
  expectShape(x, ["B", "Tn", p.ln1.scale.shape[0]], "transformer block", "x");
  checkCross(p, opts.crossKV !== undefined, "crossKV");
  return tf.tidy(() => {
    const self = attention.applyCached(p.attn, layerNorm.apply(p.ln1, x), cache, { mask: opts.mask });
    let h: tf.Tensor = tf.add(x, self.y);
    if (p.cross && p.ln_cross && opts.crossKV) {
      h = tf.add(
        h,
        attention.applyWithKV(p.cross, layerNorm.apply(p.ln_cross, h), opts.crossKV, {
          mask: opts.contextMask,
        }),
      );
    }
    const y = tf.add(h, mlp.apply(p.mlp, layerNorm.apply(p.ln2, h))) as tf.Tensor3D;
    return { y, cache: self.cache };
  });
}

export function initStack(key: Key, c: StackConfig): StackParams {
  if (!Number.isInteger(c.depth) || c.depth < 0) {
    throw new ConfigError({
      action: "init transformer stack",
      reason: `depth must be a non-negative integer, got ${c.depth}`,
    });
  }
  const k = keysFor(key, ["blocks", "ln_final"]);
  return {
    blocks: Array.from({ length: c.depth }, (_, i) => initBlock(foldIn(k.blocks, i), c.block)),
    ln_final: layerNorm.init(k.ln_final, { dim: c.block.dim }),
  };
}

/** depth blocks, then the final LayerNorm: x [B, T, D] -> [B, T, D]. Block i draws dropout from foldIn(key, i). */
export function applyStack(p: StackParams, x: tf.Tensor, opts: BlockOptions = {}): tf.Tensor3D {
  expectShape(x, ["B", "T", p.ln_final.scale.shape[0]], "transformer stack", "x");
  return tf.tidy(() => {
    let h: tf.Tensor = x;
    const keys = opts.key ? foldInMany(opts.key, p.blocks.map((_, i) => i)) : undefined; // foldIn(key, i)
    p.blocks.forEach((b, i) => {
      h = applyBlock(b, h, { ...opts, key: keys?.[i] });
    });
    return layerNorm.apply(p.ln_final, h) as tf.Tensor3D;
  });
}

/** Cross-attention keys/values of every block, projected once from context [B, S, Dk]. */
export function stackCrossKV(p: StackParams, context: tf.Tensor): attention.KVCache[] {
  return p.blocks.map((b, i) => {
    if (!b.cross) {
      throw new ConfigError({
        action: "project cross keys/values",
        reason: `block ${i} has no cross-attention`,
      });
    }
    return attention.crossKV(b.cross, context);
  });
}

/**
 * The stack on Tn new tokens, with one self-attention cache per block (null or [] to start).
 * Only the new tokens are projected; cached keys/values are reused as they are. Old caches are
 * neither changed nor disposed: dispose them once the new ones are in use.
 * x [B, Tn, D] -> {y: [B, Tn, D] (after the final LayerNorm), caches: [B, H, S + Tn, Dh] per block}.
 *
 *   const crossKV = stackCrossKV(p, context); // once per sequence
 *   let caches: KVCache[] | null = null;
 *   for (const x of tokens) { // x [B, 1, D]
 *     const out = applyStackCached(p, x, caches, { crossKV });
 *     if (caches) tf.dispose(caches.flatMap((c) => [c.k, c.v]));
 *     caches = out.caches; // ... use out.y
 *   }
 */
export function applyStackCached(
  p: StackParams,
  x: tf.Tensor,
  caches: readonly (attention.KVCache | null)[] | null,
  opts: {
    readonly mask?: tf.Tensor;
    readonly crossKV?: readonly attention.KVCache[];
    readonly contextMask?: tf.Tensor;
  } = {},
): { y: tf.Tensor3D; caches: attention.KVCache[] } {
  expectShape(x, ["B", "Tn", p.ln_final.scale.shape[0]], "transformer stack", "x");
  const depth = p.blocks.length;
  if (caches && caches.length !== 0 && caches.length !== depth) {
    throw new ConfigError({
      action: "apply transformer stack",
      reason: `expected ${depth} caches (one per block), got ${caches.length}`,
    });
  }
  if (opts.crossKV && opts.crossKV.length !== depth) {
    throw new ConfigError({
      action: "apply transformer stack",
      reason: `expected ${depth} crossKV entries (one per block), got ${opts.crossKV.length}`,
    });
  }
  return tf.tidy(() => {
    let h: tf.Tensor = x;
    const next: attention.KVCache[] = [];
    p.blocks.forEach((b, i) => {
      const out = applyBlockCached(b, h, caches?.[i] ?? null, {
        mask: opts.mask,
        crossKV: opts.crossKV?.[i],
        contextMask: opts.contextMask,
      });
      h = out.y;
      next.push(out.cache);
    });
    return { y: layerNorm.apply(p.ln_final, h) as tf.Tensor3D, caches: next };
  });
}
