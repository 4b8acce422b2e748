/**
 * Every layer as a uniform test subject: how to init it, a valid input, how to apply it, and inputs
 * of the wrong shape (with the op and input name its ShapeError must give). The shared layer
 * contract (contract_test.ts) and the backend agreement test (backends_test.ts) run over this list.
 */
import * as tf from "@tensorflow/tfjs-core";
import { foldIn, type Key, normal } from "../../../transforms/random.ts";
import type { Tree } from "../../../transforms/tree.ts";
import { chunkCausalMask } from "../../../model/masks.ts";
import * as attention from "../../../model/layers/attention.ts";
import * as dense from "../../../model/layers/dense.ts";
import * as embedding from "../../../model/layers/embedding.ts";
import * as layerNorm from "../../../model/layers/layer_norm.ts";
import * as mlp from "../../../model/layers/mlp.ts";
import * as position from "../../../model/layers/position.ts";
import * as tokenLearner from "../../../model/layers/token_learner.ts";
import * as transformer from "../../../model/layers/transformer.ts";

export type Subject = {
  readonly name: string;
  readonly init: (key: Key) => Tree;
  /** valid inputs, made fresh (the caller disposes them) */
  readonly inputs: (key: Key) => tf.Tensor[];
  readonly apply: (params: any, inputs: tf.Tensor[]) => tf.Tensor;
  /** wrong-shape inputs and the `Cannot apply <op> to <input>` they must be reported with */
  readonly bad: readonly {
    readonly inputs: () => tf.Tensor[];
    readonly op: string;
    readonly input: string;
  }[];
  /** params depend on the key (LayerNorm's do not) */
  readonly random: boolean;
};

const B = 2, T = 6, D = 12;
const x3 = (key: Key, t = T, d = D) => normal(key, [B, t, d]);
const zeros = (shape: number[]) => () => [tf.zeros(shape)];

const blockCfg = { dim: D, heads: 2, headDim: 4, mlpHidden: 16 };

export const SUBJECTS: readonly Subject[] = [
  {
    name: "dense",
    init: (k) => dense.init(k, { inDim: D, outDims: [3, 5] }),
    inputs: (k) => [x3(k)],
    apply: (p, [x]) => dense.apply(p, x),
    bad: [{ inputs: zeros([B, T, D + 1]), op: "dense", input: "x" }],
    random: true,
  },
  {
    name: "layer_norm",
    init: (k) => layerNorm.init(k, { dim: D }),
    inputs: (k) => [x3(k)],
    apply: (p, [x]) => layerNorm.apply(p, x),
    bad: [{ inputs: zeros([B, T, D - 1]), op: "layer_norm", input: "x" }],
    random: false,
  },
  {
    name: "embedding",
    init: (k) => embedding.init(k, { vocab: 17, dim: D }),
    inputs: () => [tf.tensor2d([[0, 3, 16], [5, 5, 1]], [2, 3], "int32")],
    apply: (p, [ids]) => embedding.apply(p, ids),
    bad: [],
    random: true,
  },
  {
    name: "embedding.attend",
    init: (k) => embedding.init(k, { vocab: 17, dim: D }),
    inputs: (k) => [x3(k)],
    apply: (p, [x]) => embedding.attend(p, x),
    bad: [{ inputs: zeros([B, T, 17]), op: "embedding.attend", input: "x" }],
    random: true,
  },
  {
    name: "mlp",
    init: (k) => mlp.init(k, { dim: D, hidden: 20, outDim: 7 }),
    inputs: (k) => [x3(k)],
    apply: (p, [x]) => mlp.apply(p, x),
    bad: [{ inputs: zeros([B, T, 7]), op: "mlp", input: "x" }],
    random: true,
  },
  {
    name: "attention (self, chunk-causal mask)",
    init: (k) => attention.init(k, { dim: D, heads: 3, headDim: 4 }),
    inputs: (k) => [x3(k), chunkCausalMask(3, 2)],
    apply: (p, [x, mask]) => attention.apply(p, x, { mask }),
    bad: [
      { inputs: zeros([B, T, D + 2]), op: "attention", input: "x" },
      { inputs: zeros([T, D]), op: "attention", input: "x" },
    ],
    random: true,
  },
  {
    name: "attention (cross, kvDim)",
    init: (k) => attention.init(k, { dim: D, heads: 2, headDim: 5, kvDim: 9 }),
    inputs: (k) => [x3(k), x3(foldIn(k, 1), 4, 9)],
    apply: (p, [x, context]) => attention.apply(p, x, { context }),
    bad: [
      { inputs: () => [tf.zeros([B, T, D]), tf.zeros([B, 4, D])], op: "attention", input: "context" },
      { inputs: () => [tf.zeros([B, T, D]), tf.zeros([B + 1, 4, 9])], op: "attention", input: "context" },
    ],
    random: true,
  },
  {
    name: "transformer block (cross)",
    init: (k) => transformer.initBlock(k, { ...blockCfg, cross: true, contextDim: 6 }),
    inputs: (k) => [x3(k), x3(foldIn(k, 1), 5, 6), chunkCausalMask(2, 3)],
    apply: (p, [x, context, mask]) => transformer.applyBlock(p, x, { context, mask }),
    bad: [{
      inputs: () => [tf.zeros([B, T, D - 1]), tf.zeros([B, 5, 6])],
      op: "transformer block",
      input: "x",
    }],
    random: true,
  },
  {
    name: "transformer stack",
    init: (k) => transformer.initStack(k, { depth: 2, block: blockCfg }),
    inputs: (k) => [x3(k), chunkCausalMask(2, 3)],
    apply: (p, [x, mask]) => transformer.applyStack(p, x, { mask }),
    bad: [{ inputs: zeros([B, D]), op: "transformer stack", input: "x" }],
    random: true,
  },
  {
    name: "token_learner",
    init: (k) => tokenLearner.init(k, { dim: D, outTokens: 4, hidden: 8 }),
    inputs: (k) => [x3(k)],
    apply: (p, [x]) => tokenLearner.apply(p, x),
    bad: [{ inputs: zeros([B, T, D, 1]), op: "token_learner", input: "x" }],
    random: true,
  },
  {
    name: "learned position embedding",
    init: (k) => position.initLearned(k, { len: 8, dim: D }),
    inputs: (k) => [x3(k)],
    apply: (p, [x]) => position.applyLearned(p, x),
    bad: [{ inputs: zeros([B, T, D + 1]), op: "learned position embedding", input: "x" }],
    random: true,
  },
];
