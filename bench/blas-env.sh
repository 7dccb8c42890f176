# blas-env.sh - sourced by the benchmarks, after they set $tools and
# $peakbin: torch_env, the environment PyTorch runs in, and blas_note, a
# line for the report. By default PyTorch calls the libblas.so.3
# alternative, as Debian's PyTorch does (OpenBLAS there, the best it has
# measured for these models: BLIS's cost per call slowed its dlrm 2-3x).
#   BENCH_TORCH_BLAS   system (default), or same: the BLAS library and
#                      kernels recpipe's tools run, where they run BLIS
#                      (which ships a libblas.so.3 beside its libblis.so.4)
torch_env=""
blas_note="PyTorch ran on the libblas.so.3 alternative, $(readlink -f /usr/lib/"$(gcc -print-multiarch 2>/dev/null)"/libblas.so.3 2>/dev/null)."
if [ "${BENCH_TORCH_BLAS:-system}" = same ] &&
	blas_lib=$(ldd "$tools/rec-train" 2>/dev/null | awk '$1 ~ /^libblis/ { print $3 }') &&
	[ -n "$blas_lib" ]; then
	blas_dir=$(dirname "$(readlink -f "$blas_lib")")
	if [ -r "$blas_dir/libblas.so.3" ]; then
		torch_env="LD_LIBRARY_PATH=$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
		[ ! -x "$peakbin" ] || torch_env="$torch_env $("$peakbin" --blas-env)"
		blas_note="PyTorch ran on the BLAS of recpipe's tools, $blas_dir/libblas.so.3 ($torch_env)."
	fi
fi
