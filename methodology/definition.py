"""Methodology definitions as versioned, validated data: load, check and read them.

A methodology (``CMS-083-V01``, ``VM0042-v2.2``) is a YAML file in ``methodology/definitions/``
(package data, read through :mod:`importlib.resources`): its approaches, applicability conditions,
boundary, every parameter with unit, source and range, monitoring, the rules the accounting applies
(uncertainty, buffer, leakage, contradicted practices, emissions), the relaunched CCER's hard rules
and the items its documents must hold. :func:`load_definition` parses a file, validates it against
``definitions/schema.json`` with :mod:`jsonschema`, adds the checks a schema cannot express, and
returns an immutable :class:`Definition`.

Verification status
-------------------
Every item (list entry, parameter, rule block) carries ``verification`` and a non-empty ``source``.
The statuses map the markers of ``shared/domain`` (README, "How verification is marked"):

``official``
    Every statement the item rests on was read in the official text, or a faithful full-text copy
    of it (marker [V]); e.g. the CCER 管理办法 (2023) articles, CNCA-CCER-01:2023, the VCS AFOLU
    non-permanence procedure v5.0, the CMS-083-V01 table-of-contents headings.
``secondary``
    At least one of those statements was read only in a third-party transcription, summary or code
    that encodes it (marker [S]); e.g. VM0042 v2.2 equations and defaults from a page-cited
    transcription. Probably right; check against the primary document before it drives credits.
``reconstructed``
    At least one of them is our own inference or choice, found in no source (marker "unverified"),
    e.g. every CMS-083-V01 equation and value: its text was not found beyond a TOC fragment.

An item takes the status of its weakest link: an IPCC factor read in the IPCC text is still
``secondary`` in VM0042 if the rule that VM0042 applies it was read in a transcription, and
``reconstructed`` in CMS-083 where we do not know that the methodology uses it.
:meth:`Definition.items_by_status` lists every ``secondary`` and ``reconstructed`` item by its key
path, for the annex of the generated documents.

Errors
------
:class:`DefinitionError` names the file, the key path (``parameters.EF1.unit``) and the fix. List
items are addressed by their id, name or item text, e.g. ``boundary.pools[litter].source``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from models.errors import MRVError

__all__ = [
    "definition_digest",
    "STATUSES",
    "RULE_PARAMETERS",
    "Definition",
    "DefinitionError",
    "Parameter",
    "available_definitions",
    "definition_from_mapping",
    "load_definition",
    "load_schema",
]

STATUSES = ("official", "secondary", "reconstructed")
"""The verification statuses, strongest first (module notes)."""

_PACKAGE = "methodology"
_FOLDER = "definitions"
_SCHEMA = "schema.json"

RULE_PARAMETERS: dict[str, dict[Any, tuple[str, ...]]] = {
    "uncertainty": {
        "vcs_mr_v5": (
            "z_90",
            "t_0667",
            "unc_no_deduction_threshold",
            "unc_exclusion_threshold",
            "unc_horizon_years",
        ),
        "vm0042_eq74": ("t_0667",),
    },
    "buffer": {"afolu_npr": ("buffer_rate",)},
    "leakage": {"vm0042_eq33": ("manure_C_retention", "C_to_CO2")},
    "emissions": {
        "n2o_synthetic": ("EF1", "N2O_N_to_N2O", "GWP_N2O"),
        "n2o_manure": ("EF1", "N2O_N_to_N2O", "GWP_N2O"),
        "n2o_residue": ("EF1", "N2O_N_to_N2O", "GWP_N2O"),
        "n2o_indirect": ("EF4", "EF5", "Frac_GASF", "Frac_GASM", "Frac_LEACH", "N2O_N_to_N2O", "GWP_N2O"),
        "co2_diesel": ("diesel_density", "diesel_NCV", "diesel_EF_CO2"),
        "ch4": ("GWP_CH4",),
    },
}
"""Parameters each rule needs: ``section -> rule name (or true emissions flag) -> parameter names``."""

_LABEL_KEYS = ("id", "name", "item")


class DefinitionError(MRVError, ValueError):
    """A methodology definition is missing, malformed or fails its schema.

    ``file`` is the definition's path; ``problems`` a list of ``(key path, problem, fix)``.
    """

    def __init__(self, file: str, problems: Sequence[tuple[str, str, str]]):
        self.file = str(file)
        self.problems = [tuple(p) for p in problems]
        lines = [f"methodology definition {self.file}: {len(self.problems)} problem(s)"]
        for path, problem, fix in self.problems:
            lines.append(f"  {path or '(top level)'}: {problem}. Fix: {fix}")
        super().__init__("\n".join(lines))

    @property
    def path(self) -> str:
        """Key path of the first problem."""
        return self.problems[0][0] if self.problems else ""


@dataclass(frozen=True)
class Parameter:
    """One fixed parameter of a methodology."""

    name: str
    value: float
    unit: str
    """Unit of ``value`` (``"1"`` for a dimensionless number)."""
    source: str
    """Document, table and page the value comes from."""
    range: tuple[float, float]
    """``(low, high)`` given by the source; ``value`` lies inside."""
    verification: str
    """``official``, ``secondary`` or ``reconstructed`` (module notes)."""
    description: str
    note: str | None = None


@dataclass(frozen=True)
class Definition:
    """A validated methodology definition (read-only).

    ``data`` holds the whole parsed YAML as read-only mappings and tuples; the properties and
    methods give typed access to the parts the accounting reads.
    """

    data: Mapping[str, Any]
    file: str
    """Where the definition was read from (path or package resource)."""

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def title(self) -> str:
        return str(self.data["title"])

    @property
    def version(self) -> str:
        return str(self.data["version"])

    @property
    def issuer(self) -> str:
        return str(self.data["issuer"])

    @property
    def ministry_issued(self) -> bool:
        """Whether MEE issued it under the relaunched CCER (False is a registration blocker)."""
        return bool(self.data["ministry_issued"])

    @property
    def default_approach(self) -> str:
        return str(self.data["default_approach"])

    @property
    def approaches(self) -> dict[str, dict[str, Any]]:
        """Approach id -> its entry."""
        return {str(a["id"]): _thaw(a) for a in self.data["approaches"]}

    @functools.cached_property
    def parameters(self) -> Mapping[str, Parameter]:
        """Every parameter by name."""
        out = {}
        for name, p in self.data["parameters"].items():
            out[name] = Parameter(
                name=name,
                value=float(p["value"]),
                unit=p["unit"],
                source=p["source"],
                range=(float(p["range"][0]), float(p["range"][1])),
                verification=p["verification"],
                description=p["description"],
                note=p.get("note"),
            )
        return MappingProxyType(out)

    def param(self, name: str) -> float:
        """Value of parameter ``name`` (its unit: ``parameters[name].unit``)."""
        try:
            return self.parameters[name].value
        except KeyError:
            raise DefinitionError(
                self.file,
                [
                    (
                        f"parameters.{name}",
                        "no such parameter",
                        f"use one of {', '.join(sorted(self.parameters))}, or add it with value, unit, "
                        "source, range, verification and description",
                    )
                ],
            ) from None

    def rule(self, section: str) -> dict[str, Any]:
        """A copy of a rule block (``uncertainty``, ``buffer``, ``leakage``, ``verification_rule``,
        ``emissions``, ``hard_rules``, ``crediting_quantity``, ``ministry_issued_basis``, ...)."""
        value = self.data.get(section)
        if not isinstance(value, Mapping) or section in ("parameters", "boundary"):
            blocks = sorted(
                k
                for k, v in self.data.items()
                if isinstance(v, Mapping) and k not in ("parameters", "boundary")
            )
            raise DefinitionError(
                self.file,
                [(section, "not a rule block of this definition", f"use one of {', '.join(blocks)}")],
            )
        return _thaw(value)

    def to_dict(self) -> dict[str, Any]:
        """A mutable deep copy of the whole definition."""
        return _thaw(self.data)

    def items_by_status(self) -> dict[str, list[str]]:
        """Key paths of every item marked ``secondary`` or ``reconstructed``, by status."""
        out: dict[str, list[str]] = {"secondary": [], "reconstructed": []}
        for path, item in _items(self.data, ()):
            status = item.get("verification")
            if status in out:
                out[status].append(_render(self.data, path))
        return out


def _items(node: Any, path: tuple) -> Iterator[tuple[tuple, Mapping]]:
    """Every mapping that carries ``verification``, depth first, with its raw path."""
    if isinstance(node, Mapping):
        if "verification" in node and path:
            yield path, node
        for key, value in node.items():
            yield from _items(value, (*path, key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _items(value, (*path, i))


def _label(item: Any) -> str | None:
    if not isinstance(item, Mapping):
        return None
    for key in _LABEL_KEYS:
        if isinstance(item.get(key), str) and item[key].strip():
            return item[key]
    if isinstance(item.get("gas"), str) and isinstance(item.get("source_category"), str):
        return f"{item['gas']}: {item['source_category']}"
    return None


def _render(data: Any, path: Sequence[Any]) -> str:
    """``boundary.pools[litter].source`` from a raw path (list items by label, else index)."""
    out = ""
    node = data
    for part in path:
        if isinstance(part, int) and isinstance(node, (list, tuple)):
            item = node[part] if part < len(node) else None
            out += f"[{_label(item) or part}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return out


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return copy.copy(value)


def _dates_to_text(value: Any) -> Any:
    """YAML reads an unquoted 2012-11-08 as a date; the schema wants the ISO text."""
    if isinstance(value, dict):
        return {k: _dates_to_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_to_text(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice in one mapping (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@functools.lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The JSON Schema of a definition (``methodology/definitions/schema.json``)."""
    text = resources.files(_PACKAGE).joinpath(_FOLDER, _SCHEMA).read_text(encoding="utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def available_definitions() -> list[str]:
    """Names of the definitions shipped with the package (file names without ``.yaml``)."""
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_definition(name_or_path: str | os.PathLike[str]) -> Definition:
    """Load and validate a definition by name (``"VM0042-v2.2"``, see :func:`available_definitions`)
    or by the path of a YAML file.

    Raises
    ------
    DefinitionError
        The file is missing, is not valid YAML, or fails the schema or the cross-checks; the message
        names the file, the key path and the fix.
    """
    text_form = os.fspath(name_or_path)
    is_path = (
        isinstance(name_or_path, os.PathLike)
        or text_form.endswith((".yaml", ".yml"))
        or "/" in text_form
        or os.sep in text_form
    )
    if not is_path:
        return _load_packaged(text_form)
    path = Path(text_form)
    if not path.is_file():
        raise DefinitionError(
            str(path),
            [
                (
                    "",
                    "file not found",
                    f"give an existing YAML file, or a name among {', '.join(available_definitions())}",
                )
            ],
        )
    return _parse(path.read_text(encoding="utf-8"), str(path), stem=path.stem)


@functools.cache
def _load_packaged(name: str) -> Definition:
    names = available_definitions()
    if name not in names:
        raise DefinitionError(
            f"{_PACKAGE}/{_FOLDER}/{name}.yaml",
            [
                (
                    "",
                    f"no definition named {name!r}",
                    f"use one of {', '.join(names)}, or pass the path of a YAML file",
                )
            ],
        )
    resource = resources.files(_PACKAGE).joinpath(_FOLDER, f"{name}.yaml")
    return _parse(resource.read_text(encoding="utf-8"), f"{_PACKAGE}/{_FOLDER}/{name}.yaml", stem=name)


def _parse(text: str, file: str, stem: str | None) -> Definition:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        fix = (
            "keep one of the two"
            if "appears twice" in problem
            else "correct the YAML syntax at that position"
        )
        raise DefinitionError(file, [("", f"not valid YAML at {where}: {problem}", fix)]) from None
    return definition_from_mapping(data, file=file, stem=stem)


def definition_from_mapping(data: Any, *, file: str = "<mapping>", stem: str | None = None) -> Definition:
    """Validate a parsed definition (e.g. from a test) and wrap it; ``stem``, when given, must equal ``id``."""
    if not isinstance(data, dict):
        raise DefinitionError(
            file,
            [
                (
                    "",
                    f"the file holds a {type(data).__name__}, not a mapping",
                    "start from a shipped definition",
                )
            ],
        )
    data = _dates_to_text(data)
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_explain(error, data))
    if not problems:
        problems.extend(_cross_checks(data, stem))
    if problems:
        unique = list(dict.fromkeys(problems))
        raise DefinitionError(file, unique)
    return Definition(data=_freeze(data), file=file)


def _description(schema: Mapping[str, Any], key: str) -> str:
    prop = schema.get("properties", {}).get(key, {})
    if "description" in prop:
        return prop["description"]
    ref = prop.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return load_schema()["$defs"].get(ref.rsplit("/", 1)[-1], {}).get("description", "")
    return ""


def _explain(error: jsonschema.ValidationError, data: Any) -> list[tuple[str, str, str]]:
    """Turn one schema error into ``(key path, problem, fix)`` entries."""
    path = list(error.absolute_path)
    where = _render(data, path)
    kind = error.validator
    inst = error.instance
    desc = error.schema.get("description", "") if isinstance(error.schema, Mapping) else ""
    hint = f" ({desc})" if desc else ""
    if kind == "required":
        out = []
        for key in error.validator_value:
            if isinstance(inst, Mapping) and key not in inst and f"'{key}'" in error.message:
                what = _description(error.schema, key)
                out.append(
                    (
                        _render(data, [*path, key]),
                        "required key missing",
                        f"add `{key}:` to {where or 'the top level'}" + (f" - {what}" if what else ""),
                    )
                )
        return out or [(where, error.message, "add the missing key")]
    if kind == "additionalProperties" and isinstance(inst, Mapping):
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in inst if k not in allowed]
        return [
            (
                _render(data, [*path, k]),
                "unknown key",
                f"remove it or correct its spelling (allowed here: {', '.join(allowed)})",
            )
            for k in extra
        ]
    if kind == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return [(where, f"{inst!r} is not allowed", f"use one of: {choices}{hint}")]
    if kind == "const":
        return [(where, f"{inst!r} is not allowed here", f"use {error.validator_value!r}{hint}")]
    if kind == "type":
        expected = error.validator_value
        fix = f"give a {expected}{hint}"
        if expected == "string" and isinstance(inst, (int, float)):
            fix = f'quote it, e.g. "{inst}"{hint}'
        return [(where, f"expected a {expected}, got {type(inst).__name__} {inst!r}", fix)]
    if kind in ("pattern", "minLength") and isinstance(inst, str) and not inst.strip():
        return [(where, "empty", f"fill it in{hint}")]
    if kind == "pattern":
        return [(where, f"{inst!r} does not match {error.validator_value!r}", f"correct it{hint}")]
    if kind == "format":
        return [(where, f"{inst!r} is not a valid {error.validator_value}", f"correct it{hint}")]
    if kind in ("minItems", "maxItems") and path and path[-1] == "range":
        return [(where, f"range must hold exactly two numbers, got {len(inst)}", "write it as [low, high]")]
    if kind in ("minItems", "minProperties"):
        return [(where, "empty", f"add at least one entry{hint}")]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [(where, error.message, f"give a value that satisfies it{hint}")]
    if kind == "uniqueItems":
        return [(where, "repeated entries", "list each entry once")]
    return [(where, error.message, f"correct the value{hint}")]


def _cross_checks(data: Mapping[str, Any], stem: str | None) -> list[tuple[str, str, str]]:
    """What the schema cannot express (module notes)."""
    problems: list[tuple[str, str, str]] = []
    if stem is not None and data["id"] != stem:
        problems.append(
            (
                "id",
                f"id {data['id']!r} differs from the file name {stem!r}",
                f"set `id: {stem}` or rename the file",
            )
        )
    params = data["parameters"]
    for name, p in params.items():
        lo, hi = p["range"]
        if lo > hi:
            problems.append(
                (f"parameters.{name}.range", f"low {lo} is above high {hi}", "write it as [low, high]")
            )
        elif not lo <= p["value"] <= hi:
            problems.append(
                (
                    f"parameters.{name}.value",
                    f"{p['value']} is outside its range [{lo}, {hi}]",
                    "correct the value, or the range if the source gives a wider one",
                )
            )
    for section in ("approaches", "applicability"):
        ids = [str(a["id"]) for a in data[section]]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append((f"{section}[{dup}].id", "id used more than once", "give each entry its own id"))
    names = [m["name"] for m in data["monitoring"]]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(
            (f"monitoring[{dup}].name", "name used more than once", "give each entry its own name")
        )
    approach_ids = [str(a["id"]) for a in data["approaches"]]
    if data["default_approach"] not in approach_ids:
        problems.append(
            (
                "default_approach",
                f"{data['default_approach']!r} is not among the approaches",
                f"use one of: {', '.join(approach_ids)}",
            )
        )
    for section, rules in RULE_PARAMETERS.items():
        block = data[section]
        keys = [k for k, v in block.items() if v is True] if section == "emissions" else [block["rule"]]
        for key in keys:
            for name in rules.get(key, ()):
                if name not in params:
                    what = f"`{key}: true`" if section == "emissions" else f"rule {key!r}"
                    problems.append(
                        (
                            f"parameters.{name}",
                            f"missing; {section} {what} needs it",
                            f"add parameters.{name} with value, unit, source, range, verification and description",
                        )
                    )
    buffer_rate = params.get("buffer_rate")
    if buffer_rate is not None and buffer_rate["value"] != data["buffer"]["rate"]:
        problems.append(
            (
                "buffer.rate",
                f"{data['buffer']['rate']} differs from parameters.buffer_rate ({buffer_rate['value']})",
                "make the two equal",
            )
        )
    return problems


def definition_digest(name_or_path: str | os.PathLike[str]) -> str:
    """SHA-256 of a definition's parsed content (canonical JSON): what a run's results depend on."""
    import hashlib
    import json

    data = load_definition(name_or_path).to_dict()
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()
