"""LightningDataModule: split manifests → ClipDatasets → DataLoaders (sampling, workers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..backbones import backbone_of
from ..config import ExperimentConfig
from ..data.dataset import ClipDataset
from ..data.manifest import Clip
from ..data.sampling import ShardSampler, make_sampler

# The label of an evaluation item that only pads a rank's share: the module leaves it out.
IGNORED_LABEL = -1


class PaddedDataset(Dataset[tuple[torch.Tensor, int]]):
    """``dataset`` followed by padding items (index ≥ its length) labelled ``IGNORED_LABEL``."""

    def __init__(self, dataset: ClipDataset) -> None:
        self.dataset = dataset

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if index < len(self.dataset):
            return self.dataset[index]
        return self.dataset[index % len(self.dataset)][0], IGNORED_LABEL


class ClipDataModule(L.LightningDataModule):
    """Train/val/test loaders over fixed splits; the training order depends on (seed, epoch)."""

    def __init__(
        self, config: ExperimentConfig, splits: Mapping[str, Sequence[Clip]], classes: Sequence[str]
    ) -> None:
        super().__init__()
        self.config = config
        self.classes = list(classes)
        self.datasets: dict[str, ClipDataset]
        own_datasets = backbone_of(config.model).datasets
        if own_datasets is not None:  # a frozen extractor: the head learns its embeddings
            # they offer what the loaders use: labels, set_epoch, items
            self.datasets = own_datasets(config, splits, self.classes)
            return
        self.datasets = {
            phase: ClipDataset(
                clips,
                self.classes,
                config.audio,
                config.spectrogram,
                config.augment,
                is_train=phase == "train",
                cache_dir=config.data.cache_dir,
                cache_audio=config.data.cache_audio,
                seed=config.train.seed,
            )
            for phase, clips in splits.items()
        }

    def _rank_and_world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size

    def _loader(
        self, phase: str, dataset: Dataset[tuple[torch.Tensor, int]], sampler: Sampler[int] | None
    ) -> DataLoader:
        cfg = self.config.train
        n_items = len(sampler) if sampler is not None else len(dataset)  # type: ignore[arg-type]
        return DataLoader(
            dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=cfg.num_workers,
            drop_last=phase == "train" and n_items > cfg.batch_size,
            persistent_workers=False,  # workers re-fork each epoch and so see its epoch number
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        cfg = self.config.train
        dataset = self.datasets["train"]
        rank, world_size = self._rank_and_world()
        sampler = make_sampler(
            dataset.labels,
            len(self.classes),
            cfg.sampling_strategy if cfg.weighted_sampling else None,
            seed=cfg.seed,
            beta=cfg.effective_num_beta,
            rare_class_boost=cfg.rare_class_boost,
            dataset=dataset,
            rank=rank,
            world_size=world_size,
        )
        # Lightning sets the epoch only after it has made this loader's first iterator, and with
        # workers that iterator draws its order and forks the workers at once: a run resumed at
        # epoch k would replay an earlier epoch's order and augmentation. Start at the epoch
        # Lightning is about to run (what it passes to ``set_epoch`` itself).
        trainer = self.trainer
        progress = trainer.fit_loop.epoch_progress.current if trainer is not None else None
        sampler.set_epoch(getattr(progress, "processed", 0))
        return self._loader("train", dataset, sampler)

    def _evaluation_loader(self, phase: str) -> DataLoader:
        dataset = self.datasets[phase]
        rank, world_size = self._rank_and_world()
        if world_size == 1:
            return self._loader(phase, dataset, None)
        # Each rank scores its own share; padding keeps the batch counts equal without
        # counting any clip twice (the metrics gather every rank's counts).
        sampler = ShardSampler(len(dataset), rank=rank, world_size=world_size)
        return self._loader(phase, PaddedDataset(dataset), sampler)

    def val_dataloader(self) -> DataLoader:
        return self._evaluation_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._evaluation_loader("test")
