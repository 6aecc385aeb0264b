# A sweep's point files -> one Dataset (one dimension per grid axis), then derived products.


rule aggregate:
    input:
        chunk_files,
    output:
        f"{RESULTS}/{{sweep}}/aggregate.nc",
    params:
        digest=sweep_digest,
        root=RESULTS,
        caches=chunk_caches,
    log:
        f"{RESULTS}/{{sweep}}/logs/aggregate.log",
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/aggregate.py"


rule product:
    input:
        f"{RESULTS}/{{sweep}}/aggregate.nc",
    output:
        f"{RESULTS}/{{sweep}}/{{product}}.nc",
    params:
        digest=sweep_digest,
    log:
        f"{RESULTS}/{{sweep}}/logs/{{product}}.log",
    wildcard_constraints:
        product=r"(?!aggregate$)[A-Za-z_]+",
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/product.py"
