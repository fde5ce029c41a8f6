"""Architecture encoders (arch2vec, GAE, VGAE, raw one-hot, NAO, AG-Net) and their stored embeddings."""
