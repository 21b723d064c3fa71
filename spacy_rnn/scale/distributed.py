"""Data-parallel training of an rnn_tagger pipeline with Ray Train.

Each of N workers (Ray Train's TorchTrainer, which sets up the
torch.distributed process group: gloo on CPU, NCCL on GPU) builds the same
pipeline from the same config and seed, so all start from identical weights.
Every step, worker r takes batch r of each group of N consecutive batches
(one shared shuffle order), computes its gradients, and the gradients are
averaged across workers with one all-reduce before the optimizer runs. The
optimizer then sees identical gradients on every worker, so the parameters
stay identical: this is what torch's DistributedDataParallel does, done by
hand because most of the weights (embeddings, output layer, CRF transitions)
are Thinc parameters that DDP cannot see, next to the torch RNN.

What "averaged" means here: rnn_tagger's loss is a sum over tokens (softmax)
or sentences (CRF), not a mean, so a worker's gradient is the sum over its
batch, and the average over N workers is the gradient of the union of the N
batches divided by N. One distributed step is thus one single-process step
on the union batch with its loss scaled by 1/N: the gradient keeps the scale
of one configured batch, so the config's grad_clip, L2 and (for SGD)
learn_rate mean what they mean in `spacy train` with one batch per step, and
Adam (whose step does not change when every gradient is scaled by the same
factor, up to eps) takes the union batch's step wherever grad_clip does not
clip. tests/scale/test_distributed.py checks the step with 2 processes.

Rank 0 evaluates on the dev set and saves a normal spaCy pipeline (with the
optimizer's parameter averages, as `spacy train` does) that `spacy.load`
reads; every worker's parameter checksum, and the checksum of the saved
(averaged) weights as every worker holds them, are saved beside it.
"""
import hashlib
import json
import random
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import spacy
import torch
import torch.distributed as dist
from spacy.schemas import ConfigSchemaTraining
from spacy.training.initialize import init_nlp
from spacy.util import load_config, registry, resolve_dot_names
from thinc.api import torch2xp, xp2torch

from ..errors import Errors
from ..training.parameters import model_parameters
from .annotate import fit_worker_resources

META = "distributed.json"


def gradient_buffers(model) -> List:
    """Every trainable tensor's pending gradient (zeros where none), in a fixed order.

    Returns (kind, owner, key, array-or-tensor) tuples: Thinc params by walk
    order and name, then each torch shim's parameters in module order, so all
    workers line up without exchanging names.
    """
    buffers = []
    for param in model_parameters(model):
        grad = param.pending_grad()
        if param.tensor is None:
            node = param.node
            if grad is None:
                grad = node.ops.alloc(node.get_param(param.name).shape, dtype="f")
            buffers.append(("thinc", node, param.name, grad))
        else:
            grad = grad if grad is not None else torch.zeros_like(param.tensor)
            buffers.append(("torch", param.tensor, None, grad))
    return buffers


def allreduce_mean_gradients(model, world_size: int) -> None:
    """Average the pending gradients over all workers (one flat all-reduce).

    Each worker's gradient is the sum over its own batch (the loss is a sum),
    so the result is the union batch's gradient divided by `world_size`.
    """
    buffers = gradient_buffers(model)
    if not buffers:
        return
    flats = [(xp2torch(g) if kind == "thinc" else g.detach()).reshape(-1).float()
             for kind, _, _, g in buffers]
    flat = torch.cat(flats)
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size
    offset = 0
    for kind, owner, name, grad in buffers:
        n = grad.numel() if kind == "torch" else grad.size
        chunk = flat[offset:offset + n]
        offset += n
        if kind == "thinc":
            value = torch2xp(chunk.reshape(grad.shape).contiguous())
            owner.set_grad(name, owner.ops.asarray(value, dtype=grad.dtype))
        else:
            owner.grad = chunk.reshape(owner.shape).to(owner.dtype).clone()


def data_parallel_step(trainable: Sequence[Tuple[str, object]], batch: List, optimizer,
                       world_size: int, losses: Optional[Dict[str, float]] = None) -> None:
    """One training step of one worker: local gradients, averaged, then applied.

    trainable (Sequence[Tuple[str, TrainablePipe]]): the components to update.
    batch (List[Example]): this worker's batch.
    optimizer (Optimizer): the same optimizer (and state) on every worker.
    world_size (int): the number of workers in the process group.
    losses (Optional[Dict[str, float]]): this worker's losses, summed in place.
    """
    for name, proc in trainable:
        proc.update(batch, sgd=None, losses=losses)
    for name, proc in trainable:
        allreduce_mean_gradients(proc.model, world_size)
        proc.finish_update(optimizer)
    optimizer.step_schedules()


def checksum(nlp) -> str:
    """SHA-256 of every trainable component's weights: equal iff the weights are equal."""
    digest = hashlib.sha256()
    for name, proc in nlp.pipeline:
        if hasattr(proc, "model") and hasattr(proc.model, "to_bytes"):
            digest.update(proc.model.to_bytes())
    return digest.hexdigest()


def _train_worker(cfg: Dict) -> None:
    """The loop every Ray Train worker runs."""
    from ray import train  # optional: the [ray] extra

    context = train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(cfg["threads"])
    if cfg["use_gpu"]:
        spacy.require_gpu(context.get_local_rank())
    config = load_config(cfg["config_path"], overrides=cfg["overrides"], interpolate=False)
    nlp = init_nlp(config)  # seeds everything from [system] seed: same weights on every worker
    start_sum = checksum(nlp)
    resolved = nlp.config.interpolate()
    T = registry.resolve(resolved["training"], schema=ConfigSchemaTraining)
    train_corpus, dev_corpus = resolve_dot_names(resolved, [T["train_corpus"], T["dev_corpus"]])
    optimizer = T["optimizer"]
    batcher = T["batcher"]
    trainable = [(name, proc) for name, proc in nlp.pipeline
                 if hasattr(proc, "finish_update") and name not in T["frozen_components"]]
    max_steps = cfg["max_steps"]
    order = random.Random(T["seed"])
    step, epoch, losses = 0, 0, {}
    started = time.time()
    while step < max_steps:
        examples = list(train_corpus(nlp))
        order.shuffle(examples)  # same order on every worker: same shared seed
        batches = list(batcher(examples))
        usable = len(batches) // world * world  # every worker gets a batch every step
        if usable == 0:
            raise ValueError(Errors.RNN052.format(n=len(batches), workers=world))
        for first in range(0, usable, world):
            data_parallel_step(trainable, batches[first + rank], optimizer, world, losses)
            step += 1
            if step >= max_steps:
                break
        epoch += 1
    sums: List[Optional[str]] = [None] * world
    dist.all_gather_object(sums, checksum(nlp))
    with nlp.use_params(optimizer.averages):  # the weights that are saved
        saved_sum = checksum(nlp)
    saved_sums: List[Optional[str]] = [None] * world
    dist.all_gather_object(saved_sums, saved_sum)
    metrics = {"step": step, "epochs": epoch, "seconds": round(time.time() - started, 1),
               "workers": world, "checksums": sums, "initial_checksum": start_sum,
               "saved_checksums": saved_sums,
               "losses": {k: float(v) for k, v in losses.items()}}
    if rank == 0:
        with nlp.use_params(optimizer.averages):
            scores = nlp.evaluate(list(dev_corpus(nlp)))
            output = Path(cfg["output"])
            nlp.to_disk(output)
        metrics["dev_scores"] = {k: v for k, v in scores.items()
                                 if isinstance(v, (int, float)) or v is None}
        (output / META).write_text(json.dumps(metrics, indent=2))
    train.report({k: v for k, v in metrics.items() if k != "checksums"})


def train_distributed(
    config_path: Union[str, Path],
    output: Union[str, Path],
    *,
    workers: int = 2,
    use_gpu: bool = False,
    cpus_per_worker: Optional[float] = None,
    max_steps: int = 1000,
    overrides: Optional[Dict] = None,
) -> Dict:
    """Train with Ray Train across `workers` processes; save the pipeline to `output`.

    A running Ray cluster is used when `ray.init(address=...)` was called
    first (or RAY_ADDRESS is set); otherwise a local one is started. `output`
    must be reachable from the rank-0 worker (shared storage on a cluster).
    cpus_per_worker (Optional[float]): CPUs per worker; None fits the request
        to the cluster (see `annotate.fit_worker_resources`). A request the
        cluster cannot hold raises a ValueError instead of waiting forever.
    RETURNS (Dict): what `distributed.json` holds (steps, time, checksums of
        the workers' weights and of the saved, averaged weights, dev scores).
    """
    try:
        import ray
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer
    except ImportError:
        raise ImportError(Errors.RNN051) from None
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(Errors.RNN001.format(
            setting="workers", value=workers, expected="an integer >= 1"))
    if not ray.is_initialized():
        ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    # Ray Train V1 gives its coordinator a CPU of its own (V2: none); a worker
    # group that cannot fit waits forever, so what it needs is checked first.
    probe = ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker={"CPU": 1.0})
    reserved = probe.total_resources.get("CPU", 0.0) - workers
    cpus = fit_worker_resources(ray.cluster_resources(), workers, cpus_per_worker,
                                1.0 if use_gpu else 0.0, reserved_cpus=reserved,
                                gpu_flag="--use-gpu")
    output = Path(output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    # Workers run in their own folders: make file paths absolute here.
    plain = {k: _absolute_if_path(v) for k, v in (overrides or {}).items()}
    trainer = TorchTrainer(
        _train_worker,
        train_loop_config={"config_path": str(Path(config_path).resolve()),
                           "overrides": plain, "output": str(output),
                           "max_steps": max_steps, "use_gpu": use_gpu,
                           "threads": max(1, int(cpus))},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                     resources_per_worker={"CPU": cpus}),
        run_config=RunConfig(storage_path=str(output / "ray_results"), name="train"),
    )
    trainer.fit()
    return json.loads((output / META).read_text())


def _absolute_if_path(value: object) -> object:
    if isinstance(value, Path) or (isinstance(value, str) and value and Path(value).exists()):
        return str(Path(value).resolve())
    return value


def same_weights(meta: Dict) -> bool:
    """Whether every worker ended with the same parameters."""
    sums = meta.get("checksums") or []
    return len(sums) > 0 and len(set(sums)) == 1
