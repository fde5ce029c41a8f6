"""Architecture encoders (arch2vec, GAE, VGAE, raw one-hot, NAO, AG-Net) and their stored embeddings."""

from nasviz.encoders.base import ENCODER_NAMES, Encoder, GraphCodec, GraphDataset, encoder_class, get_codec, get_encoder

__all__ = ["ENCODER_NAMES", "Encoder", "GraphCodec", "GraphDataset", "encoder_class", "get_codec", "get_encoder"]
