"""How well the `thick` slider of `ganforge directions RUN --method labels --data thickness` works:
the README's figures for "adding or removing a thing" (a benchmark that prints figures, not a test).

For seeds 0..N-1 it renders the `thick` strip from -R to R in S steps (`ganforge edit RUN --seed S
--direction thick --range -R,R --steps S`) and reads every image twice: with the attribute classifier
the directions were made with (digits-lenet features and a logistic-regression head fitted on the
`thickness` set, seed 0, as `ganforge directions` does), and as a measured stroke width (ink area
over skeleton length, the quantity the thickness labels come from). Beside them: the classifier's
accuracy on its held-out thin/thick digits (its ceiling) and the mean stroke width of thin and of
thick training digits (what "thin" and "thick" mean here).

    ganforge train --set train.threads=1
    ganforge directions runs/00000-dcgan-mnist --method labels --data thickness
    python bench/edit_thick.py runs/00000-dcgan-mnist                  # -2..2 in 5 steps, 100 seeds
    python bench/edit_thick.py runs/00000-dcgan-mnist --range=-3,3 --steps 7
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from ganforge.editing.attributes import (
    AttributeClassifier,
    choose_features,
    stroke_thickness,
    thickness_images,
)
from ganforge.imaging import to_uint8
from ganforge.pipelines.edit import EditPipeline, load_edit_pipeline, parse_range


def slider_figures(
    pipe: EditPipeline, classifier: AttributeClassifier, values: list[float], seeds: int
) -> dict[str, Any]:
    """The `thick` strip of seeds 0..seeds-1 at `values`, read by `classifier` and as stroke width."""
    thick = classifier.class_names.index("thick")
    scores, strokes = [], []
    for seed in range(seeds):
        images = pipe.strip("thick", values, seed=seed).images
        scores.append(classifier.scores(images)[:, thick])
        strokes.append(stroke_thickness(to_uint8(images)))
    scores_t, strokes_t = torch.stack(scores), torch.stack(strokes)  # (seeds, steps)
    rises = scores_t.diff(dim=1) > 0
    growth = strokes_t[:, -1] - strokes_t[:, 0]
    return {
        "rising_seeds": int(rises.all(dim=1).sum()),  # the score rises at every step
        "rising_steps": float(rises.float().mean()),
        "score_by_step": scores_t.mean(0).tolist(),
        "width_by_step": strokes_t.mean(0).tolist(),
        "width_growth": float(growth.mean()),
        "wider_seeds": int((growth > 0).sum()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run", help="a run or bundle with `thick` directions (ganforge directions ... --data thickness)"
    )
    parser.add_argument("--seeds", type=int, default=100, help="seeds 0..N-1 (default 100)")
    parser.add_argument("--range", default="-2,2", help="strengths FROM,TO (default -2,2)")
    parser.add_argument("--steps", type=int, default=5, help="images per strip (default 5)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.steps < 2:
        parser.error("--seeds must be >= 1 and --steps >= 2")
    low, high = parse_range(args.range)
    values = torch.linspace(low, high, args.steps).tolist()
    start = time.process_time()

    pipe = load_edit_pipeline(args.run)
    if "thick" not in pipe.directions:
        parser.error(
            f"{args.run} has no `thick` direction; run "
            f"`ganforge directions {args.run} --method labels --data thickness`"
        )
    data = thickness_images()
    classifier = AttributeClassifier(choose_features(data)).fit(data)
    widths = stroke_thickness(data.images)
    fig = slider_figures(pipe, classifier, values, args.seeds)

    print(f"run {args.run}, strip {low:g}..{high:g} in {args.steps} steps, seeds 0-{args.seeds - 1}")
    print(
        f"classifier: {classifier.features_name} + logistic regression, "
        f"held-out accuracy {classifier.held_out_accuracy:.1%}"
    )
    print(
        f"training digits' stroke width: thin {widths[data.labels == 0].mean():.2f} px, "
        f"thick {widths[data.labels == 1].mean():.2f} px"
    )
    print(
        f"thick score rises at every step: {fig['rising_seeds']} of {args.seeds} seeds "
        f"({fig['rising_steps']:.0%} of single steps)"
    )
    print(f"mean thick score (log-odds) by step: {' '.join(f'{v:+.2f}' for v in fig['score_by_step'])}")
    print(f"mean stroke width (px) by step:      {' '.join(f'{v:.2f}' for v in fig['width_by_step'])}")
    print(
        f"stroke width from first to last step: {fig['width_growth']:+.2f} px on average, "
        f"wider for {fig['wider_seeds']} seeds"
    )
    print(f"CPU time: {time.process_time() - start:.0f} s")


if __name__ == "__main__":
    main()
