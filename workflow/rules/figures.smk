# Figures are drawn from aggregates and products only (never recompute a point).


rule figure:
    input:
        unpack(figure_inputs),
    output:
        png=report(
            f"{RESULTS}/figures/{{name}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=lambda wildcards: {"figure": wildcards.name, "kind": FIGURES[wildcards.name]["kind"]},
        ),
        pdf=f"{RESULTS}/figures/{{name}}.pdf",
    params:
        kind=lambda wildcards: FIGURES[wildcards.name]["kind"],
        options=lambda wildcards: FIGURES[wildcards.name]["options"],
    log:
        f"{RESULTS}/figures/logs/{{name}}.log",
    script:
        "../scripts/figure.py"
