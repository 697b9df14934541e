"""The package's rooms import downwards only, and the network imports nothing else of zsm (README, "Layout")."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zsm"

# Top to bottom, as the README lists them: a module may import its own room and the rooms below it.
ROOMS = ["cli", "viz", "training", "eval", "upscale", "graphs", "data", "weights", "devices", "net", "outputs"]


def room_of(module: str) -> str:
    """'zsm.net.dcn' -> 'net'; 'zsm.upscale' -> 'upscale'; 'zsm' (the package itself) -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_of(path: Path):
    """(line, imported zsm module) for every import of zsm in a file, relative imports resolved."""
    here = "zsm." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "zsm":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "zsm":
                continue
            if target == "zsm" or not node.module:  # `from . import x` / `from zsm import x`: each name a module
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"
            else:
                yield node.lineno, target


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
                  or p.parent != PACKAGE)


def test_the_rooms_are_the_ones_the_readme_lists():
    found = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.is_dir() and (p / "__init__.py").is_file()) or (p.suffix == ".py" and not p.name.startswith("__"))}
    assert found == set(ROOMS)
    readme = (PACKAGE.parent / "README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = [line.split()[0].removeprefix("zsm/").removesuffix("/").removesuffix(".py")
              for line in readme.splitlines() if line.startswith("zsm/")]
    assert listed == [r for r in listed if r in ROOMS] and set(listed) == set(ROOMS), listed


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_import_goes_down_or_stays_in_its_room(path):
    mine = room_of("zsm." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    upward = [(line, target) for line, target in imports_of(path)
              if target != "zsm.__version__" and room_of(target) != mine and (room_of(target) not in ROOMS
                                              or ROOMS.index(room_of(target)) < ROOMS.index(mine))]
    assert not upward, f"zsm/{path.relative_to(PACKAGE)} imports upwards or out of the rooms: {upward}"


def test_the_network_imports_nothing_else_of_zsm():
    outside = [(str(p.relative_to(PACKAGE)), line, target) for p in (PACKAGE / "net").glob("*.py")
               for line, target in imports_of(p) if room_of(target) != "net"]
    assert not outside, outside


def test_the_import_reader_sees_relative_and_absolute_imports(tmp_path):
    """A self-check of imports_of on the real code: the model imports its stages, the CLI the library."""
    model = {t for _, t in imports_of(PACKAGE / "net" / "model.py")}
    assert {"zsm.net.blocks", "zsm.net.convlstm", "zsm.net.config"} <= model
    cli = {room_of(t) for path in (PACKAGE / "cli").glob("*.py") for _, t in imports_of(path)}
    assert {"net", "weights", "devices"} <= cli
