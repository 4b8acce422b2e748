"""Which distribution strategy to train under, and this process's role in the cluster.

`auto` picks, in order:
  * TPUStrategy when a TPU is named (--tpu, $TPU_NAME) or attached (a TPU VM's local chips);
  * MultiWorkerMirroredStrategy when $TF_CONFIG names more than one worker;
  * MirroredStrategy over the local GPUs when there are several, or over `cpu_replicas` > 1
    logical CPU devices; on one device, TensorFlow's default strategy (same semantics, no copies).
The same command line then runs on a laptop, a multi-GPU host, a cluster or a TPU pod; only the
environment changes. Strategies must be created before any other TensorFlow op runs (the
multi-worker one starts this process's gRPC server), so `make_strategy` comes first in main.
"""
from __future__ import annotations

import dataclasses
import json
import os

import tensorflow as tf


class ClusterError(ValueError):
    """The asked strategy cannot run here (no TPU, TF_CONFIG missing or malformed)."""


@dataclasses.dataclass(frozen=True)
class Role:
    """This process in the cluster: the chief writes the outputs everyone else mirrors."""

    task_type: str  # "worker", "chief" or "local"
    task_id: int
    is_chief: bool
    workers: int


def tf_config() -> dict:
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ClusterError(f"Cannot read TF_CONFIG: not JSON ({e})") from e
    if not isinstance(config, dict):
        raise ClusterError("Cannot read TF_CONFIG: expected a JSON object with 'cluster' and 'task'")
    return config


def cluster_workers(config: dict) -> int:
    cluster = config.get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def role_of(config: dict) -> Role:
    """Worker 0 is the chief unless the cluster has a `chief` task (TensorFlow's convention)."""
    if cluster_workers(config) <= 1:
        return Role("local", 0, True, 1)
    task = config.get("task", {})
    task_type, task_id = task.get("type"), task.get("index")
    if task_type not in ("worker", "chief") or not isinstance(task_id, int):
        raise ClusterError(f"Cannot join the cluster: TF_CONFIG task must be {{'type': 'worker'|'chief', 'index': int}}, got {task}")
    has_chief = bool(config["cluster"].get("chief"))
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)
    return Role(task_type, task_id, is_chief, cluster_workers(config))


def _tpu_name(explicit: str | None) -> str | None:
    if explicit is not None:
        return explicit
    if os.environ.get("TPU_NAME"):
        return os.environ["TPU_NAME"]
    # A TPU VM sees its chips as local devices once libtpu is installed.
    return "local" if tf.config.list_physical_devices("TPU") else None


def _tpu_strategy(name: str) -> tf.distribute.Strategy:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="" if name == "local" else name)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _use_logical_cpus(n: int) -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)


def make_strategy(kind: str = "auto", tpu: str | None = None, cpu_replicas: int = 1) -> tuple[tf.distribute.Strategy, Role]:
    """The strategy for `kind` (auto | mirrored | multiworker | tpu) and this process's role."""
    config = tf_config()
    if kind not in ("auto", "mirrored", "multiworker", "tpu"):
        raise ClusterError(f"Cannot pick a strategy: --strategy must be auto, mirrored, multiworker or tpu, got '{kind}'")
    tpu_name = _tpu_name(tpu) if kind in ("auto", "tpu") else None
    if kind == "tpu" and tpu_name is None:
        raise ClusterError("Cannot use --strategy tpu: no TPU attached and neither --tpu nor $TPU_NAME given")
    if tpu_name is not None:
        return _tpu_strategy(tpu_name), Role("tpu", 0, True, 1)
    if kind == "multiworker" or (kind == "auto" and cluster_workers(config) > 1):
        if cluster_workers(config) < 1:
            raise ClusterError("Cannot use --strategy multiworker: $TF_CONFIG names no workers")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()  # each worker: its GPUs, else its CPU
        return strategy, role_of(config)
    local = Role("local", 0, True, 1)
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy(), local
    if cpu_replicas > 1 and not gpus:
        _use_logical_cpus(cpu_replicas)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][:cpu_replicas]
        return tf.distribute.MirroredStrategy(devices), local
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(), local
    # One device: the default strategy (plain variables, no all-reduce), which also keeps XLA's
    # compilation cache working (see README: --jit under Mirrored strategies).
    return tf.distribute.get_strategy(), local


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """The public name (MultiWorkerMirroredStrategy's class is CollectiveAllReduceStrategy)."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "TPUStrategy"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return "MirroredStrategy"
    return "DefaultStrategy" if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy() else type(strategy).__name__
