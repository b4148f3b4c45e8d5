"""What the objectives do to their inputs: span masks, negatives and
input perturbations."""
