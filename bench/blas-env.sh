# blas-env.sh - sourced by the benchmarks, after they set $tools and
# $peakbin. Sets torch_env, the environment under which PyTorch runs the
# same BLAS library and kernels as recpipe's tools (Debian's PyTorch calls
# libblas.so.3, and BLIS ships one beside its libblis.so.4), and blas_note,
# a line for the report saying so.
#   BENCH_TORCH_BLAS   same (default): that; system: the libblas.so.3 alternative
torch_env="" blas_note=""
blas_lib=$(ldd "$tools/rec-train" 2>/dev/null | awk '$1 ~ /^libblis/ { print $3 }')
if [ "${BENCH_TORCH_BLAS:-same}" = same ] && [ -n "$blas_lib" ]; then
	blas_dir=$(dirname "$(readlink -f "$blas_lib")")
	if [ -r "$blas_dir/libblas.so.3" ]; then
		torch_env="LD_LIBRARY_PATH=$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
		[ ! -x "$peakbin" ] || torch_env="$torch_env $("$peakbin" --blas-env)"
		blas_note="PyTorch ran on the BLAS of recpipe's tools, $blas_dir/libblas.so.3 ($torch_env)."
	fi
fi
[ -n "$blas_note" ] || blas_note="PyTorch ran on the libblas.so.3 alternative, $(readlink -f /usr/lib/"$(gcc -print-multiarch 2>/dev/null)"/libblas.so.3 2>/dev/null)."
