#!/usr/bin/env python3
"""One name and one default per parameter: the fcs command, the vips operations and the Python
package against Include/fcs.h.

Every field of fcs_model_params, fcs_sample_params and fcs_layer_params (but the few in
NOT_AN_ARGUMENT) must be an argument of every task of every front end, named as the field
(the CLI in kebab-case: guidance_scale -> --guidance-scale; vips and Python as is), and where
the header has a macro FCS_DEFAULT_<FIELD> (FCS_DEFAULT_LAYER_<FIELD> for layer extraction's own
sample defaults), the default each front end shows must be its value: the `(default: …)` of
`fcs TASK --help`, the `default:` of `vips fcs_TASK`'s usage, and, for Python, where every
argument defaults to None, the library's own defaults as fcs.defaults() reads them through the
bindings (whose ctypes structs must have the header's fields, in order). Enum-valued defaults compare by the name the header's comment gives the constant
("paper"). A field whose comment starts with task names ("inpaint: …", "inpaint, super-resolve: …",
as the CLI names them) belongs to those tasks only. A new field, or a changed
default, that a front end misses fails here.

usage: PYTHONPATH=bindings/python FCS_LIBRARY=…/libfcs.so.0 tools/check_front_ends.py FCS VIPS_PLUGIN
"""
import inspect
import re
import subprocess
import sys
from pathlib import Path

HEADER = Path(__file__).resolve().parent.parent / "Include" / "fcs.h"

# Fields no front end takes as an argument of their own: list lengths (the front ends take lists),
# the progress callback and its data (each front end reports progress its own way: a bar, vips'
# eval signal, a Python callable), and the sample params nested in fcs_layer_params.
NOT_AN_ARGUMENT = {"n_learning_rates", "n_loras", "progress", "user_data", "sample"}

# Without a seed, every front end draws a new one (and says so): its C default is not theirs.
RANDOM_BY_DEFAULT = {"seed"}

# Each task: the C function, the CLI subcommand, the vips operation, the Python method, and the
# structs whose fields it takes.
TASKS = {
    "inpaint": ("inpaint", "fcs_inpaint", "inpaint", ["fcs_model_params", "fcs_sample_params"]),
    "super_resolve": ("super-resolve", "fcs_super_resolve", "super_resolve", ["fcs_model_params", "fcs_sample_params"]),
    "extract_layers": ("extract-layers", "fcs_extract_layers", "extract_layers",
                       ["fcs_model_params", "fcs_sample_params", "fcs_layer_params"]),
}

CLI_NAMES = {command for command, _, _, _ in TASKS.values()}

# Arguments of the front ends that are no field: the model's path, the CLI's outputs and threads,
# super-resolution's factor (an argument of fcs_super_resolve), the images.
OWN_ARGUMENTS = {
    "cli": {"model", "output", "format", "threads", "json", "help", "scale"},
    "vips": {"model", "in", "out", "mask", "layer1", "layer2", "scale"},
    "python": {"self", "image", "mask", "scale", "progress", "path"},
}


def parse_header(text):
    """(fields by struct: [(name, type, comment)], macros {name: value}, enum names {type: [names by value]})."""
    structs = {}
    for name, body in re.findall(r"typedef struct (fcs_\w+_params) \{(.*?)\} \1;", text, re.S):
        fields = re.findall(r"\s*([\w\s*]*?)\b(\w+)\s*;[ \t]*(/\*.*?\*/)?", body, re.S)
        structs[name] = [(field, " ".join(kind.split()), comment or "") for kind, field, comment in fields]
    macros = {name: value for name, value in re.findall(r"^#define (FCS_DEFAULT_\w+)\s+(\S+)", text, re.M)}
    enums = {}
    for name, body in re.findall(r"typedef enum (fcs_\w+) \{(.*?)\} \1;", text, re.S):
        values = {}
        for constant, value, comment in re.findall(r"(FCS_\w+) = (-?\d+),?\s*(/\*.*?\*/)?", body, re.S):
            quoted = re.findall(r'\("([^"]+)"\)', comment)
            if quoted:
                values[int(value)] = quoted[-1]
        enums[name] = values
    return structs, macros, enums


def number(text):
    return float(text.rstrip("fF").strip("()"))


def expected_arguments(task, structs):
    """{field: type} that the task's front ends must take."""
    fields = {}
    for struct in TASKS[task][3]:
        for name, kind, comment in structs[struct]:
            if name in NOT_AN_ARGUMENT:
                continue
            only = re.match(r"/\*\s*((?:[a-z-]+, )*[a-z-]+):", comment)
            tasks = only.group(1).split(", ") if only and set(only.group(1).split(", ")) <= CLI_NAMES else None
            if tasks is not None and TASKS[task][0] not in tasks:
                continue
            fields[name] = kind
    return fields


def expected_default(task, field, kind, macros, enums):
    """The default a front end must show, as text ("20", "0.005", "paper", "1"), or None."""
    macro = macros.get(f"FCS_DEFAULT_LAYER_{field.upper()}") if task == "extract_layers" else None
    macro = macro or macros.get(f"FCS_DEFAULT_{field.upper()}")
    if macro is None:
        return None
    if kind in enums:
        return enums[kind][int(number(macro))]
    return macro


def same(shown, expected):
    """Whether a front end's default text shows the expected value (a name, or a number among its numbers)."""
    if shown is None:
        return False
    try:
        value = number(expected)
    except ValueError:
        return shown.strip('"') == expected
    shown = {"true": "1", "false": "0"}.get(shown, shown)
    return any(abs(float(token) - value) <= 1e-6 * max(1.0, abs(value))
               for token in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", shown))


def cli_options(fcs, command):
    """{field name: shown default or None} from `fcs COMMAND --help`."""
    text = subprocess.run([fcs, command, "--help"], capture_output=True, text=True, check=True).stdout
    options, current = {}, None
    for line in text.split("OPTIONS:", 1)[1].splitlines():
        match = re.match(r"\s{2}(?:-\w, )?--([\w-]+)(/--no-[\w-]+)?", line)
        if match:
            current = match.group(1).replace("-", "_")
            options[current] = [bool(match.group(2)), line[match.end():]]
        elif current:
            options[current][1] += " " + line.strip()
    shown = {}
    for name, (flag, help_text) in options.items():
        help_text = " ".join(help_text.split())
        found = re.findall(r"default: ([^)]*)\)", help_text)
        default = found[-1] if found else None
        if flag and default is not None:
            default = "0" if default.startswith("--no-") else "1"
        shown[name] = default
    return shown


def vips_arguments(vips_plugin, operation):
    """{argument name: shown default or None} from the usage `vips OPERATION` prints."""
    run = subprocess.run(["vips", "--plugin", vips_plugin, operation], capture_output=True, text=True)
    text = run.stdout + run.stderr
    if "usage:" not in text:
        raise SystemExit(f"check_front_ends: `vips --plugin {vips_plugin} {operation}` printed no usage: {text}")
    shown, current = {}, None
    for line in text.split("where:", 1)[1].splitlines():
        match = re.match(r"\s+([\w-]+)\s+- ", line)
        if match:
            current = match.group(1).replace("-", "_")
            shown[current] = None
        elif current and line.strip().startswith("default:"):
            shown[current] = line.split("default:", 1)[1].strip()
        elif line.startswith("operation flags"):
            break
    return shown


def python_signatures():
    """({task: {argument: default}}, {argument: default} of Model, fcs.defaults())."""
    import fcs
    tasks = {}
    for task, (_, _, method, _) in TASKS.items():
        parameters = inspect.signature(getattr(fcs.Model, method)).parameters
        tasks[task] = {name: parameter.default for name, parameter in parameters.items()}
    model = {name: parameter.default for name, parameter in inspect.signature(fcs.Model.__init__).parameters.items()}
    return tasks, model, fcs.defaults()


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fcs_command, vips_plugin = sys.argv[1:]
    structs, macros, enums = parse_header(HEADER.read_text())
    problems = []
    python_tasks, python_model, library_defaults = python_signatures()
    model_fields = {name for name, _, _ in structs["fcs_model_params"]}
    checked = set()
    for task, (command, operation, method, _) in TASKS.items():
        expected = expected_arguments(task, structs)
        front_ends = {"cli": (f"fcs {command} --help", cli_options(fcs_command, command)),
                      "vips": (f"vips {operation}", vips_arguments(vips_plugin, operation))}
        python = {**python_tasks[task], **{k: v for k, v in python_model.items() if k in model_fields}}
        for name, kind in expected.items():
            default = expected_default(task, name, kind, macros, enums)
            checked.add(name)
            for front_end, (where, shown) in front_ends.items():
                if name not in shown:
                    problems.append(f"{where}: no argument for {name} ({'--' + name.replace('_', '-') if front_end == 'cli' else name})")
                elif default is not None and name not in RANDOM_BY_DEFAULT and not same(shown[name], default):
                    problems.append(f"{where}: {name} shows default {shown[name]!r}, the header's is {default}")
            where = f"fcs.Model{'' if name in model_fields else '.' + method}"
            if name not in python:
                problems.append(f"{where}: no keyword argument {name}")
            elif python[name] is not None:
                problems.append(f"{where}: {name}={python[name]!r}; the default must be None (the library's)")
            key = "extract_layers.steps" if (task, name) == ("extract_layers", "steps") else name
            if default is not None and not same(str(library_defaults.get(key)).lower(), default):
                problems.append(f"fcs.defaults()[{key!r}] is {library_defaults.get(key)!r}, the header's is {default}")
        for front_end, (where, shown) in front_ends.items():
            for name in set(shown) - set(expected) - OWN_ARGUMENTS[front_end]:
                problems.append(f"{where}: {name} is no field of the header")
        for name in set(python_tasks[task]) - set(expected) - OWN_ARGUMENTS["python"]:
            problems.append(f"fcs.Model.{method}: {name} is no field of the header")
    from fcs import _library
    for struct, mirror in (("fcs_model_params", _library.ModelParams), ("fcs_sample_params", _library.SampleParams),
                           ("fcs_layer_params", _library.LayerParams)):
        if [name for name, _ in mirror._fields_] != [name for name, _, _ in structs[struct]]:
            problems.append(f"fcs/_library.py: {mirror.__name__}'s fields differ from {struct}'s (a field added or moved?)")
    unused = [m for m in macros if not any(m in comment for fields in structs.values() for _, _, comment in fields)]
    if unused:
        problems.append(f"Include/fcs.h: {', '.join(unused)} named in no field's comment")
    if problems:
        print("check_front_ends: the front ends differ from Include/fcs.h:", *problems, sep="\n  ")
        return 1
    print(f"check_front_ends: {len(checked)} fields, their names and defaults agree in the header, "
          f"the fcs command, the vips operations and the Python package")
    return 0


if __name__ == "__main__":
    sys.exit(main())
