"""One command line for every data preparation, built from its signature.

A recipe's ``<dataset>_prepare.py`` script ends with::

    if __name__ == "__main__":
        run_preparation_cli(prepare_slurp, __doc__)

and gets: ``data_folder`` and ``save_folder`` as positional arguments (and
any other parameter named in ``positional``), and ``--<name>`` for every
other keyword of the preparation, typed from its default:

* ``int``, ``float``, ``str``: one value of that type;
* ``bool``: ``--<name>`` sets it, ``--no_<name>`` clears it
  (``--no_decode``);
* a list or tuple: one or more values (``--subsets small medium``), of the
  type of its first element;
* ``None``: the type documented for it (``min_duration : float``, in the
  preparation's docstring or, for the shared options, in
  :mod:`~summary_ssl.dataio.prepare_utils`; ``list of str``: one or more
  values); a parameter with no documented ``int``, ``float`` or ``str``
  type keeps its default and gets no option.

The help of an option is the first paragraph of the parameter's
documentation.
Unknown options are an error. The preparation logs at INFO level and the
script prints what it returns (the CSV paths).

Authors
 * summary_ssl contributors 2026
"""

import argparse
import inspect
import logging
import re

from summary_ssl.dataio import prepare_utils

#: The types a ``name : type`` documentation line can give an option.
DOCUMENTED_TYPES = {"int": int, "float": float, "str": str}
_DOC_ENTRY = re.compile(r"^(\s*)(\w+(?:, \w+)*)(?: : (.*))?$")


def documented_arguments(*docstrings):
    """Parameter name -> (type text, first paragraph of its description), read
    from the NumPy ``Arguments`` sections of the docstrings (the first
    docstring that documents a name with a type wins).

    Arguments
    ---------
    *docstrings : str
        NumPy-style docstrings (None is skipped).

    Returns
    -------
    dict

    Example
    -------
    >>> doc = '''Arguments
    ... ---------
    ... a, b : float, optional
    ...     Two lengths.
    ... c
    ...     Something.
    ...
    ... Returns
    ... -------
    ... int
    ... '''
    >>> for name, entry in documented_arguments(doc).items():
    ...     print(name, entry)
    a ('float, optional', 'Two lengths.')
    b ('float, optional', 'Two lengths.')
    c ('', 'Something.')
    """
    found = {}
    for doc in docstrings:
        lines = inspect.cleandoc(doc or "").splitlines() + [""]
        section, entries = None, {}
        for number, line in enumerate(lines[:-1]):
            if re.fullmatch(r"-{3,}", lines[number + 1].strip()):
                section = line.strip()
                continue
            match = _DOC_ENTRY.match(line)
            if section != "Arguments" or match is None or match.group(1):
                continue
            paragraph = []
            for below in lines[number + 1 :]:
                if not below.startswith(" ") or not below.strip():
                    break
                paragraph.append(below.strip())
            for name in match.group(2).split(", "):
                entries[name] = (match.group(3) or "", " ".join(paragraph))
        for name, entry in entries.items():
            if name not in found or (entry[0] and not found[name][0]):
                found[name] = entry
    return found


def preparation_parser(
    prepare_fn,
    description=None,
    positional=("data_folder", "save_folder"),
    defaults=None,
):
    """Builds the argument parser of a preparation (see the module
    docstring).

    Arguments
    ---------
    prepare_fn : callable
        The preparation (``prepare_librispeech``...).
    description : str, optional
        The parser's description (default: the first line of the
        preparation's docstring).
    positional : sequence of str
        Parameters given as positional arguments, in this order; those
        with a default may be left out (a sequence takes zero or more
        values).
    defaults : dict, optional
        The command's own defaults, where they differ from the
        preparation's (the types still come from the preparation's).

    Returns
    -------
    argparse.ArgumentParser

    Example
    -------
    >>> def prepare(data_folder, save_folder, splits=("a",), n=2,
    ...             decode=False, max_duration=None):
    ...     '''Prepares.
    ...
    ...     Arguments
    ...     ---------
    ...     max_duration : float, optional
    ...         Longest file kept.
    ...     '''
    >>> parser = preparation_parser(prepare)
    >>> args = parser.parse_args(["in", "out", "--splits", "a", "b",
    ...                           "--n", "3", "--decode",
    ...                           "--max_duration", "2.5"])
    >>> sorted(vars(args).items())  # doctest: +NORMALIZE_WHITESPACE
    [('data_folder', 'in'), ('decode', True), ('max_duration', 2.5),
     ('n', 3), ('save_folder', 'out'), ('splits', ['a', 'b'])]
    """
    doc = inspect.getdoc(prepare_fn) or ""
    if description is None:
        description = doc.split("\n\n")[0]
    parser = argparse.ArgumentParser(description=description)
    documented = documented_arguments(doc, prepare_utils.__doc__)
    parameters = inspect.signature(prepare_fn).parameters
    for name in positional:
        _add_positional(parser, parameters[name], documented)
    for name, parameter in parameters.items():
        if name not in positional and parameter.kind in (
            parameter.POSITIONAL_OR_KEYWORD,
            parameter.KEYWORD_ONLY,
        ):
            _add_option(parser, parameter, documented)
    parser.set_defaults(**(defaults or {}))
    return parser


def run_preparation_cli(prepare_fn, description=None, argv=None, **kwargs):
    """Runs a preparation from the command line and prints what it returns.

    Arguments
    ---------
    prepare_fn : callable
        The preparation.
    description : str, optional
        The script's docstring (its first paragraph describes the command).
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).
    **kwargs
        Passed to :func:`preparation_parser` (``positional``,
        ``defaults``).

    Returns
    -------
    object
        What the preparation returned.

    Example
    -------
    >>> def prepare(data_folder, save_folder, n=1):
    ...     return {"train": f"{save_folder}/train.csv"}
    >>> _ = run_preparation_cli(prepare, "Prepares.", ["in", "out"])
    {'train': 'out/train.csv'}
    """
    if description is not None:
        description = inspect.cleandoc(description).split("\n\n")[0]
    parser = preparation_parser(prepare_fn, description, **kwargs)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = prepare_fn(**vars(args))
    print(result)
    return result


def _option_type(parameter, documented):
    """(type, nargs) of a parameter's values, or None for no option."""
    default = parameter.default
    if isinstance(default, (list, tuple)):
        kind = type(default[0]) if default else str
        return (kind if kind in (int, float, str) else str), "+"
    if default is None or default is parameter.empty:
        text = documented.get(parameter.name, ("", ""))[0].split(",")[0]
        words = text.split()
        nargs = "+" if words[:1] in (["list"], ["sequence"]) else None
        kind = DOCUMENTED_TYPES.get(words[-1] if words else "")
        if kind is None and default is parameter.empty:
            kind = str
        return (kind, nargs) if kind else None
    if type(default) in (int, float, str):
        return type(default), None
    return None


def _add_positional(parser, parameter, documented):
    """Adds ``parameter`` as a positional argument (str when its type is
    unknown)."""
    kind, nargs = _option_type(parameter, documented) or (str, None)
    help_line = documented.get(parameter.name, ("", None))[1]
    options = dict(type=kind, help=help_line)
    if parameter.default is not parameter.empty:
        options.update(nargs="*" if nargs else "?", default=parameter.default)
    parser.add_argument(parameter.name, **options)


def _add_option(parser, parameter, documented):
    """Adds ``--<name>`` (and ``--no_<name>`` for a bool)."""
    name, default = parameter.name, parameter.default
    help_line = documented.get(name, ("", None))[1] or None
    if isinstance(default, bool):
        group = parser.add_mutually_exclusive_group()
        group.add_argument(f"--{name}", action="store_true", help=help_line)
        group.add_argument(f"--no_{name}", dest=name, action="store_false")
        parser.set_defaults(**{name: default})
        return
    typed = _option_type(parameter, documented)
    if typed is None:
        return
    kind, nargs = typed
    options = dict(type=kind, nargs=nargs, help=help_line)
    if default is parameter.empty:
        options["required"] = True
    else:
        options["default"] = default
    parser.add_argument(f"--{name}", **options)
