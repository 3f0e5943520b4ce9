"""Exact TreeSHAP for small trees, looked up instead of recomputed: LightGBM's `pred_contrib` costs about sixteen
predictions per row, most of the scoring path at a million customers.

A tree with k splits sends a row left or right at each of them, and the tree's path-dependent TreeSHAP values for
that row depend on those k choices alone. With few splits (the churn model's 7 leaves make 6), the values of all
2^k choice patterns are worked out once per tree from the Shapley definition over the tree's own features; each
row then costs k comparisons and one lookup per feature. The numbers are LightGBM's (a test compares them with
`pred_contrib`); models with a tree of more than `MOST_SPLITS` splits go through `pred_contrib` itself.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

MOST_SPLITS = 8
"""256 choice patterns, one byte per row; tabulating a tree costs 4^splits, so larger trees are not worth it."""
ROWS_PER_CHUNK = 1 << 15
"""A chunk's columns and pattern codes stay in cache while every tree passes over them."""
ZERO = 1e-35
"""LightGBM's kZeroThreshold: what counts as zero for `zero_as_missing`."""


@dataclass(frozen=True)
class Split:
    """One node's rule, as LightGBM applies it when predicting (tree.h: NumericalDecision, CategoricalDecision)."""

    feature: int
    threshold: float
    categories: tuple[int, ...] | None
    missing: str
    default_left: bool

    @classmethod
    def of(cls, node: dict) -> Split:
        categorical = node["decision_type"] == "=="
        return cls(
            feature=node["split_feature"],
            threshold=math.nan if categorical else float(node["threshold"]),
            categories=tuple(int(c) for c in str(node["threshold"]).split("||")) if categorical else None,
            missing=node["missing_type"],
            default_left=bool(node["default_left"]),
        )

    def goes_left(self, values: np.ndarray, missing: np.ndarray) -> np.ndarray:
        if self.categories is not None:
            codes = np.where(missing, -1, values).astype(np.int64)
            return np.isin(codes, self.categories)
        below = values <= self.threshold
        if self.missing == "NaN":
            return below | missing if self.default_left else below
        if self.missing == "None":
            return below | missing if self.threshold >= 0 else below
        default = missing | ((values >= -ZERO) & (values <= ZERO))
        return below | default if self.default_left else below & ~default


@dataclass(frozen=True)
class Leaf:
    value: float
    count: float


@dataclass(frozen=True)
class Branch:
    split: int
    """Position among the tree's splits: the bit of the choice pattern that says this node's way."""
    feature: int
    left: Leaf | Branch
    right: Leaf | Branch
    count: float


@dataclass(frozen=True)
class TabulatedTree:
    splits: tuple[Split, ...]
    shares: tuple[tuple[int, np.ndarray], ...]
    """(feature, its SHAP value for each choice pattern)."""
    expected: float


def shap_values(booster: lgb.Booster, matrix: pd.DataFrame) -> pd.DataFrame:
    """SHAP value per feature in the model's raw output (log-odds for churn), plus the `expected` base value."""
    trees = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    if max(splits_in(tree) for tree in trees) > MOST_SPLITS:
        raw = booster.predict(matrix, pred_contrib=True)
    else:
        raw = tabulated_contributions([tabulated(tree) for tree in trees], lightgbm_values(booster, matrix))
    return pd.DataFrame(raw, index=matrix.index, columns=[*matrix.columns, "expected"])


def splits_in(node: dict) -> int:
    return 0 if "split_feature" not in node else 1 + splits_in(node["left_child"]) + splits_in(node["right_child"])


def lightgbm_values(booster: lgb.Booster, matrix: pd.DataFrame) -> np.ndarray:
    """The matrix as LightGBM predicts from it: categories as their training codes (unseen: missing), in the
    precision LightGBM converts the frame to (float32 unless a column needs more)."""
    categorical = [c for c in matrix.columns if isinstance(matrix[c].dtype, pd.CategoricalDtype)]
    codes = {
        column: matrix[column].cat.set_categories(categories).cat.codes.replace(-1, np.nan)
        for column, categories in zip(categorical, booster.pandas_categorical or [], strict=True)
    }
    numeric = matrix.assign(**codes)
    precision = np.result_type(*[dtype.type for dtype in numeric.dtypes], np.float32)
    return numeric.to_numpy(dtype=precision, na_value=np.nan).astype(np.float64, copy=False)


def tabulated(root: dict) -> TabulatedTree:
    splits: list[Split] = []
    tree = parsed(root, splits)
    features = sorted({split.feature for split in splits})
    known = expectations(tree, features, 1 << len(splits))
    shares = tuple((feature, shapley(known, position, len(features))) for position, feature in enumerate(features))
    return TabulatedTree(tuple(splits), shares, float(known[0, 0]))


def parsed(node: dict, splits: list[Split]) -> Leaf | Branch:
    """The tree with each split numbered in the order met, its rule appended to `splits`."""
    if "split_feature" not in node:
        return Leaf(node["leaf_value"], node.get("leaf_count", 0))
    splits.append(Split.of(node))
    position = len(splits) - 1
    left, right = parsed(node["left_child"], splits), parsed(node["right_child"], splits)
    return Branch(position, node["split_feature"], left, right, node["internal_count"])


def expectations(tree: Leaf | Branch, features: list[int], patterns: int) -> np.ndarray:
    """[known features, choice pattern] -> the tree's expected output when only the features in the subset (a
    bitmask over `features`) are known: a known feature's split follows the row's choice, an unknown one averages
    both sides by how many training rows went each way (path-dependent TreeSHAP's conditional expectation)."""
    subsets = np.arange(1 << len(features))[:, None]
    choices = np.arange(patterns)[None, :]

    def expected(node: Leaf | Branch) -> np.ndarray:
        if isinstance(node, Leaf):
            return np.full((len(subsets), patterns), node.value)
        left, right = expected(node.left), expected(node.right)
        is_known = (subsets >> features.index(node.feature)) & 1 == 1
        followed = np.where((choices >> node.split) & 1 == 1, left, right)
        averaged = (node.left.count * left + node.right.count * right) / node.count
        return np.where(is_known, followed, averaged)

    return expected(tree)


def shapley(known: np.ndarray, position: int, features: int) -> np.ndarray:
    """The Shapley value of the feature at bit `position`, per choice pattern: its weighted marginal contribution
    to every subset of the other features."""
    subsets = np.arange(1 << features)
    without = subsets[(subsets >> position) & 1 == 0]
    sizes = np.array([bin(s).count("1") for s in without])
    weights = np.array([math.factorial(k) * math.factorial(features - k - 1) for k in sizes]) / math.factorial(features)
    return weights @ (known[without | (1 << position)] - known[without])


def tabulated_contributions(trees: list[TabulatedTree], values: np.ndarray) -> np.ndarray:
    """[row, feature] SHAP values plus the expected output as the last column, chunk by chunk on every core."""
    contributions = np.empty((len(values), values.shape[1] + 1))
    expected = sum(tree.expected for tree in trees)

    def fill(start: int) -> None:
        chunk = np.asfortranarray(values[start : start + ROWS_PER_CHUNK])
        contributions[start : start + ROWS_PER_CHUNK] = chunk_contributions(trees, chunk, expected)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(fill, range(0, len(values), ROWS_PER_CHUNK)))
    return contributions


def chunk_contributions(trees: list[TabulatedTree], values: np.ndarray, expected: float) -> np.ndarray:
    contributions = np.zeros((len(values), values.shape[1] + 1), order="F")
    missing = np.isnan(values)
    for tree in trees:
        pattern = np.zeros(len(values), dtype=np.uint8)
        for bit, split in enumerate(tree.splits):
            column = split.feature
            pattern |= split.goes_left(values[:, column], missing[:, column]).view(np.uint8) << bit
        for feature, share in tree.shares:
            contributions[:, feature] += share[pattern]
    contributions[:, -1] = expected
    return contributions
