"""Builds libfcs (release, Swift runtime linked in) with the repository's Makefile and bundles
it in the package, so the wheel runs on machines without Swift.

FCS_PREBUILT_LIBRARY=/path/to/libfcs.so.0 bundles that file instead of building. The version is
the library's (Include/fcs.h's FCS_VERSION_*, the one place it is written).
"""
import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent


class BuildWithLibrary(build_py):
    def run(self):
        library = os.environ.get("FCS_PREBUILT_LIBRARY")
        if not library:
            if not (REPOSITORY / "Package.swift").exists():
                raise RuntimeError("building fcs needs the fcs repository around bindings/python "
                                   "(or FCS_PREBUILT_LIBRARY=/path/to/libfcs.so.0)")
            subprocess.run(["make", "-C", str(REPOSITORY), "lib"], check=True)
            library = REPOSITORY / ".build-release" / "lib" / "libfcs.so.0"
        shutil.copyfile(library, HERE / "fcs" / "libfcs.so.0")
        super().run()


def version():
    """MAJOR.MINOR.PATCH from the header, or from the prebuilt library outside the repository."""
    header = REPOSITORY / "Include" / "fcs.h"
    if header.exists():
        text = header.read_text()
        return ".".join(re.search(rf"^#define FCS_VERSION_{part} (\d+)$", text, re.M).group(1)
                        for part in ("MAJOR", "MINOR", "PATCH"))
    library = ctypes.CDLL(os.environ["FCS_PREBUILT_LIBRARY"])
    library.fcs_version.restype = ctypes.c_char_p
    return library.fcs_version().decode()


class BinaryDistribution(Distribution):
    """Installs into platlib (auditwheel repairs only platlib wheels): the package holds a native library."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """The wheel holds a native library but no Python extension: any Python 3, this platform."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        return "py3", "none", super().get_tag()[2]


setup(version=version(), distclass=BinaryDistribution, cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
