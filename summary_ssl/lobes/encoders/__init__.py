"""Encoders: sequence mixers, the layer stacks built from them, and the
whole exported encoders (front end + stack)."""
