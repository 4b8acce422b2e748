/**
 * The paper's two training stages (Mirasol3B §3.6): pretraining on video-text pairs with "all
 * losses ... given equal weight", then finetuning where "the unaligned text loss is increased
 * 10-fold", starting from the pretraining parameters with a fresh optimizer (the finetuning data
 * and schedule differ, so Adam's moments of the pretraining run would be stale).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { forFinetuning, type MirasolConfig, validateConfig } from "../model/config.ts";
import { init, type MirasolParams } from "../model/mirasol.ts";
import { paramShapes } from "../transforms/param_shapes.ts";
import { type Tree, treeDispose } from "../transforms/tree.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { matchConfig } from "./_checkpoint_trees.ts";

export type Stage = "pretrain" | "finetune";
export const STAGES: readonly Stage[] = ["pretrain", "finetune"];

/** pretrain: latent = reconstruction = text = 1; finetune: the same with text x10 (forFinetuning). */
export function stageConfig<C extends MirasolConfig>(config: C, stage: Stage): C {
  const pretrain = validateConfig({
    ...config,
    name: `${config.name.replace(/\/(pretrain|finetune)$/, "")}/pretrain`,
    losses: { latent: 1, reconstruction: 1, text: 1 },
  });
  switch (stage) {
    case "pretrain":
      return pretrain;
    case "finetune":
      return { ...forFinetuning(pretrain), name: pretrain.name.replace(/\/pretrain$/, "/finetune") };
  }
}

/**
 * The params of the checkpoint in `dir` (one of `train`'s, or the TF driver's weights) to start
 * `config` from. Its config must describe the same network: only the name and the loss weights,
 * which the stage changes, may differ (CheckpointMismatch names the first other difference).
 * Its optimizer state is not loaded. The caller owns the returned tensors.
 */
export async function loadInitParams(dir: string, config: MirasolConfig): Promise<MirasolParams> {
  const like = { params: paramShapes(init, config) };
  const ckpt = await loadCheckpoint(dir, { like });
  treeDispose(ckpt.optState as Tree<tf.Tensor>);
  const network = (c: unknown) => ({ ...(c as object), name: null, losses: null });
  try {
    matchConfig(dir, network(ckpt.config), network(config));
  } catch (e) {
    treeDispose(ckpt.params as Tree<tf.Tensor>);
    throw e;
  }
  return ckpt.params as unknown as MirasolParams;
}
