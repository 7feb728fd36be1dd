"""LightningDataModule: split manifests → ClipDatasets → DataLoaders (sampling, workers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader

from ..config import ExperimentConfig
from ..data.dataset import ClipDataset
from ..data.manifest import Clip
from ..data.sampling import EpochSampler, make_sampler


class ClipDataModule(L.LightningDataModule):
    """Train/val/test loaders over fixed splits; the training order depends on (seed, epoch)."""

    def __init__(
        self, config: ExperimentConfig, splits: Mapping[str, Sequence[Clip]], classes: Sequence[str]
    ) -> None:
        super().__init__()
        self.config = config
        self.classes = list(classes)
        self.datasets = {
            phase: ClipDataset(
                clips,
                self.classes,
                config.audio,
                config.spectrogram,
                config.augment,
                is_train=phase == "train",
                cache_dir=config.data.cache_dir,
                seed=config.train.seed,
            )
            for phase, clips in splits.items()
        }

    def _loader(self, phase: str, sampler: EpochSampler | None = None) -> DataLoader:
        cfg = self.config.train
        dataset = self.datasets[phase]
        return DataLoader(
            dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=cfg.num_workers,
            drop_last=phase == "train" and len(dataset) > cfg.batch_size,
            persistent_workers=False,  # workers re-fork each epoch and so see its epoch number
            pin_memory=torch.cuda.is_available(),
        )

    def train_sampler(self) -> EpochSampler:
        cfg = self.config.train
        dataset = self.datasets["train"]
        strategy = cfg.sampling_strategy if cfg.weighted_sampling else None
        return make_sampler(
            dataset.labels,
            len(self.classes),
            strategy,
            seed=cfg.seed,
            beta=cfg.effective_num_beta,
            rare_class_boost=cfg.rare_class_boost,
            dataset=dataset,
        )

    def train_dataloader(self) -> DataLoader:
        sampler = self.train_sampler()
        # Lightning sets the epoch only after it has made this loader's first iterator, and with
        # workers that iterator draws its order and forks the workers at once: a run resumed at
        # epoch k would replay an earlier epoch's order and augmentation. Start at the epoch
        # Lightning is about to run (what it passes to ``set_epoch`` itself).
        trainer = self.trainer
        progress = trainer.fit_loop.epoch_progress.current if trainer is not None else None
        sampler.set_epoch(getattr(progress, "processed", 0))
        return self._loader("train", sampler)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
