# One job per hash bucket ("chunk") of a sweep's tasks. Inside, each task (point x replica block)
# is skipped if its netCDF file already exists, so reruns compute only what is missing.


rule points:
    output:
        f"{RESULTS}/{{sweep}}/chunks/{{chunk}}.json",
    params:
        digest=chunk_digest,
        root=RESULTS,
    threads: lambda wildcards: SWEEPS[wildcards.sweep].threads
    resources:
        mem_mb=lambda wildcards: int(SWEEPS[wildcards.sweep].memory_mb),
        replicas=chunk_replicas,
        runtime=lambda wildcards, attempt: 60 * attempt,
    log:
        f"{RESULTS}/{{sweep}}/logs/chunk-{{chunk}}.log",
    wildcard_constraints:
        chunk=r"\d+",
    script:
        "../scripts/run_chunk.py"
