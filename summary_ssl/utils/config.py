"""Record a module's constructor arguments and write them back as YAML.

An exported encoder folder must rebuild its model without the recipe that
trained it. Modules decorated with :func:`records_init` keep the arguments
they were built with; :func:`to_hyperpyyaml` writes them as a HyperPyYAML
``!new:`` tree that :func:`hyperpyyaml.load_hyperpyyaml` rebuilds.

Authors
-------
* summary_ssl contributors 2026
"""

import functools
import inspect

import yaml


def records_init(init):
    """Decorator for ``__init__``: stores the bound arguments in
    ``self.init_args`` (defaults included).

    Arguments
    ---------
    init : callable
        The ``__init__`` to wrap.

    Returns
    -------
    callable

    Example
    -------
    >>> import torch
    >>> class Tiny(torch.nn.Module):
    ...     @records_init
    ...     def __init__(self, size, act=torch.nn.GELU):
    ...         super().__init__()
    ...         self.lin = torch.nn.Linear(size, size)
    >>> Tiny(3).init_args
    {'size': 3, 'act': <class 'torch.nn.modules.activation.GELU'>}
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self")
        init(self, *args, **kwargs)
        object.__setattr__(self, "init_args", arguments)

    return wrapper


class _PlainDumper(yaml.SafeDumper):
    """Writes equal nested lists in full (no ``&id``/``*id`` aliases)."""

    def ignore_aliases(self, data):
        return True


def _qualified_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def _node(value, indent):
    """YAML text for one value (after its key), HyperPyYAML-tagged."""
    pad = "    " * indent
    if hasattr(value, "init_args"):
        lines = [f"!new:{_qualified_name(type(value))}"]
        for key, arg in value.init_args.items():
            lines.append(f"{pad}    {key}: {_node(arg, indent + 1)}")
        return "\n".join(lines)
    if inspect.isclass(value) or inspect.isfunction(value):
        return f"!name:{_qualified_name(value)}"
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [""]
        for key, arg in value.items():
            lines.append(f"{pad}    {key}: {_node(arg, indent + 1)}")
        return "\n".join(lines)
    if isinstance(value, (list, tuple)):
        return yaml.dump(
            list(value), Dumper=_PlainDumper, default_flow_style=True
        ).strip()
    if value is None or isinstance(value, (bool, int, float, str)):
        return (
            yaml.safe_dump(value, default_flow_style=True)
            .strip()
            .split("\n")[0]
        )
    raise TypeError(
        f"Cannot write {type(value).__name__} to YAML; decorate its class "
        "with records_init or pass plain values"
    )


def to_hyperpyyaml(**modules):
    """HyperPyYAML text that rebuilds the given recorded modules.

    Arguments
    ---------
    **modules : dict
        Top-level key -> module built by a ``records_init`` constructor.

    Returns
    -------
    str

    Example
    -------
    >>> from hyperpyyaml import load_hyperpyyaml
    >>> from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    >>> enc = ConformerEncoder(1, 8, 16, 2, kernel_size=3,
    ...                        attention_type="SummaryMixing")
    >>> rebuilt = load_hyperpyyaml(to_hyperpyyaml(encoder=enc))["encoder"]
    >>> rebuilt.init_args == enc.init_args
    True
    """
    return (
        "\n".join(
            f"{key}: {_node(module, 0)}" for key, module in modules.items()
        )
        + "\n"
    )
