#pragma once
/// @file blend/io.hpp
/// Umbrella for the file-format layer: safetensors (memory-mapped reading, streaming sharded atomic
/// writing), `.npy`, and IDX (the MNIST container, parsed from decompressed bytes).
#include <blend/io/atomic_file.hpp>
#include <blend/io/idx.hpp>
#include <blend/io/mapped_file.hpp>
#include <blend/io/npy.hpp>
#include <blend/io/safetensors_header.hpp>
#include <blend/io/safetensors_reader.hpp>
#include <blend/io/safetensors_writer.hpp>
