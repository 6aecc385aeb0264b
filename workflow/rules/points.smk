# One job per hash bucket ("chunk") of a sweep's tasks. Inside, each task (point x replica block)
# is skipped if its netCDF file already exists, so reruns compute only what is missing. Beside its
# manifest the job leaves a read cache of its point files (<chunk>.pkl, deliberately not a declared
# output so that a rerun can reuse it) from which the aggregation reads.


rule points:
    output:
        manifest=f"{RESULTS}/{{sweep}}/chunks/{{chunk}}.json",
    params:
        digest=chunk_digest,
        root=RESULTS,
        cache=lambda wildcards: f"{RESULTS}/{wildcards.sweep}/chunks/{wildcards.chunk}.pkl",
    threads: lambda wildcards: SWEEPS[wildcards.sweep].threads
    resources:
        mem_mb=lambda wildcards, attempt: int(SWEEPS[wildcards.sweep].memory_mb) * attempt,
        replicas=chunk_replicas,
        runtime=chunk_runtime,
    log:
        f"{RESULTS}/{{sweep}}/logs/chunk-{{chunk}}.log",
    wildcard_constraints:
        chunk=r"\d+",
    script:
        "../scripts/run_chunk.py"
