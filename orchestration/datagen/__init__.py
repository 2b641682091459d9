"""Synthetic bioreactor historian data: a fed-batch process model streamed to a Parquet lake."""

from orchestration.datagen.generator import GenerationSummary, generate_bioreactor_data
from orchestration.datagen.tags import TAGS

__all__ = ["TAGS", "GenerationSummary", "generate_bioreactor_data"]
