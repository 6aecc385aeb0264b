# One job per hash bucket ("chunk") of a sweep's tasks. Inside, each task (point x replica block)
# is skipped if its netCDF file already exists, so reruns compute only what is missing. The job
# also leaves a read cache of its point files for the aggregation.


rule points:
    output:
        manifest=f"{RESULTS}/{{sweep}}/chunks/{{chunk}}.json",
        cache=f"{RESULTS}/{{sweep}}/chunks/{{chunk}}.pkl",
    params:
        digest=chunk_digest,
        root=RESULTS,
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
