"""Conan 2 recipe for blend, a header-only C++20 library.

Run from a checkout of the blend repository (the recipe takes its sources from the checkout):

    conan create packaging/conan -s compiler.cppstd=20
    conan create packaging/conan -s compiler.cppstd=20 -o "blend/*:with_blas=True"   # see with_blas

Consumers use CMakeDeps: ``find_package(blend CONFIG REQUIRED)`` and link ``blend::blend``.

Packaging choice: the headers are copied into the package (Conan Center's header-only template)
instead of running blend's CMake install. That install adds only ``blendConfig.cmake``, which
CMakeDeps replaces with its own config generated from ``package_info()`` below, and running it would
need every dependency resolved at configure time. ``package_info()`` mirrors the CMake target:
target ``blend::blend``, dependencies xtensor, fmt, nlohmann_json and Threads, and ``BLEND_WITH_BLAS=0/1``.
"""

import os
import re

from conan import ConanFile
from conan.errors import ConanException
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class BlendConan(ConanFile):
    name = "blend"
    description = "Header-only C++20 library for merging model weights and ensembling predictions"
    license = "MIT"
    topics = ("model-merging", "ensembling", "machine-learning", "xtensor", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        # SVD and linear solves through xtensor-blas. Off by default because Conan Center has no
        # xtensor-blas recipe (it had 0.17.2 and 0.20.0, for xtensor 0.24, and dropped them). Turning
        # it on requires an xtensor-blas package you provide yourself (e.g. `conan create` of your
        # own recipe into the local cache), in the minor that matches xtensor (0.20 <-> 0.24,
        # 0.23 <-> 0.27), and that recipe must itself require BLAS and LAPACK (e.g. openblas with
        # build_lapack=True).
        "with_blas": [True, False],
    }
    default_options = {
        "with_blas": False,
    }
    # Header-only: nothing is built, so the sources need not be copied to a build folder.
    no_copy_source = True

    @property
    def _checkout(self):
        # packaging/conan/conanfile.py -> repository root
        return os.path.join(self.recipe_folder, os.pardir, os.pardir)

    def set_version(self):
        # A --version on the command line wins; otherwise include/blend/version.hpp is the source of truth.
        if self.version:
            return
        text = load(self, os.path.join(self._checkout, "include", "blend", "version.hpp"))
        numbers = []
        for part in ("MAJOR", "MINOR", "PATCH"):
            found = re.search(rf"^#define BLEND_VERSION_{part} ([0-9]+)$", text, re.MULTILINE)
            if found is None:
                raise ConanException(f"include/blend/version.hpp: no BLEND_VERSION_{part}")
            numbers.append(found.group(1))
        self.version = ".".join(numbers)

    def export_sources(self):
        # The recipe lives in packaging/conan, so `exports_sources` patterns (relative to the recipe
        # folder) cannot reach include/; copy from the checkout instead.
        copy(self, "*.hpp", src=os.path.join(self._checkout, "include"),
             dst=os.path.join(self.export_sources_folder, "include"))
        copy(self, "LICENSE*", src=self._checkout, dst=self.export_sources_folder)

    def layout(self):
        basic_layout(self)

    def requirements(self):
        # Header-only: every dependency is used from public headers, so all are transitive.
        # blend supports both xtensor header layouts (0.24/0.25 flat, >= 0.26 nested); Conan Center
        # has 0.24.7 and 0.27.1, and the range resolves to 0.27.1 (C++20, xtl 0.8) unless the graph
        # already pins 0.24.x.
        self.requires("xtensor/[>=0.24.7 <0.28]")
        self.requires("fmt/[>=9 <13]")
        self.requires("nlohmann_json/[>=3.11 <4]")
        if self.options.with_blas:
            # Not on Conan Center: must be in the local cache or a remote you configure.
            self.requires("xtensor-blas/[>=0.20 <0.24]")

    def package_id(self):
        # The same headers for every configuration; with_blas only changes package_info().
        self.info.clear()

    def validate(self):
        check_min_cppstd(self, 20)

    def build(self):
        pass

    def package(self):
        copy(self, "LICENSE*", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", src=os.path.join(self.source_folder, "include"),
             dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "blend")
        self.cpp_info.set_property("cmake_target_name", "blend::blend")
        # Same policy as blendConfigVersion.cmake from the CMake install.
        self.cpp_info.set_property("cmake_config_version_compat", "SameMinorVersion")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.requires = ["xtensor::xtensor", "fmt::fmt", "nlohmann_json::nlohmann_json"]
        if self.options.with_blas:
            self.cpp_info.requires.append("xtensor-blas::xtensor-blas")
            self.cpp_info.defines = ["BLEND_WITH_BLAS=1"]
        else:
            self.cpp_info.defines = ["BLEND_WITH_BLAS=0"]
        # Threads::Threads in the CMake target.
        if self.settings.os in ["Linux", "FreeBSD"]:
            self.cpp_info.system_libs = ["pthread"]
