"""summary_ssl.brains.recipe: the command line of a recipe or an overlay."""

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

from summary_ssl.brains.recipe import recipe_yaml_and_overrides


def test_a_run_option_set_by_overlay_and_command_line(tmp_path):
    """The command line wins over the overlay, which wins over the base;
    a run option set by both is not a duplicate YAML key."""
    (tmp_path / "base.yaml").write_text("optimizer_step_limit: 10\nlr: 1\n")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("base_hparams: base.yaml\noptimizer_step_limit: 20\n")
    for argv, expected in (([], 20), (["--optimizer_step_limit=30"], 30)):
        hparams_file, run_opts, overrides = sb.parse_arguments(
            [str(overlay), *argv]
        )
        path, text = recipe_yaml_and_overrides(
            hparams_file, run_opts, overrides
        )
        with open(path, encoding="utf-8") as f:
            hparams = load_hyperpyyaml(f, text)
        assert hparams["optimizer_step_limit"] == expected
        assert hparams["lr"] == 1
