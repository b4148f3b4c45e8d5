"""Pretraining objectives, beside the model (as fairseq's criteria sit
beside its models), and the EMA teacher that some of them train against."""
