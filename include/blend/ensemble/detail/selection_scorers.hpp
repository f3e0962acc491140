#pragma once
/// @file blend/ensemble/detail/selection_scorers.hpp
/// The three scoring paths of greedy selection (blend/ensemble/selection.hpp): true-class log loss,
/// squared error through the Gram matrix, and the generic candidate + metric path. Each scores every
/// member as the next pick given the picks so far, with AutoGluon's or auto-sklearn's candidate arithmetic.

#include <blend/core/parallel.hpp>
#include <blend/ensemble/detail/selection_kernels.hpp>
#include <blend/ensemble/detail/selection_metrics.hpp>
#include <blend/ensemble/member_block.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

namespace blend::ensemble::detail {

/// True when every row of every multiclass member sums to 1 within 1e-12.
[[nodiscard]] inline bool rows_normalised(const member_block& block) {
    if (block.columns == 1) return true;
    for (const auto& member : block.members) {
        const bool ok = with_member_data(member, [&](const auto* p) {
            for (std::size_t r = 0; r < block.rows; ++r) {
                double s = 0.0;
                for (std::size_t c = 0; c < block.columns; ++c)
                    s += static_cast<double>(p[r * block.columns + c]);
                if (std::abs(s - 1.0) > 1e-12) return false;
            }
            return true;
        });
        if (!ok) return false;
    }
    return true;
}

/// Scores every member as the next pick, given the counts so far; one implementation per path.
class candidate_scorer {
public:
    virtual ~candidate_scorer() = default;
    /// errors[j] for s = sum(counts) models chosen so far.
    virtual void score(std::size_t s, std::span<double> errors) = 0;
    /// Records that member j became the (s_after)-th pick.
    virtual void add(std::size_t j, std::size_t s_after) = 0;
};

/// Updates the running base B with member values v: AutoGluon's running mean (B = B (s-1)/s + v/s) or
/// auto-sklearn's running sum.
inline void update_base(std::span<double> base, std::span<const double> values, std::size_t s_after,
                        selection_mode mode) {
    const double keep = static_cast<double>(s_after - 1) / static_cast<double>(s_after),
                 add = 1.0 / static_cast<double>(s_after);
    for (std::size_t i = 0; i < base.size(); ++i) {
        if (mode == selection_mode::autogluon)
            base[i] = base[i] * keep + values[i] * add;
        else
            base[i] += values[i];
    }
}

/// True-class log loss (see selection_kernels.hpp).
class log_loss_scorer final : public candidate_scorer {
public:
    log_loss_scorer(const member_block& block, std::span<const std::int64_t> labels, selection_mode mode)
        : block_{block},
          labels_{labels},
          table_{gather_true_class(block, labels, true_class_storage::screening)},
          n_{block.rows},
          count_{block.size()},
          multiclass_{block.columns > 1},
          mode_{mode},
          base_true_(n_),
          base_sum_(multiclass_ ? n_ : 0),
          scaled_true_(n_),
          scaled_sum_(base_sum_.size()),
          u_(n_),
          v_(n_) {}

    void score(std::size_t s, std::span<double> errors) override {
        const double sd = static_cast<double>(s);
        const double a = mode_ == selection_mode::autogluon ? sd / (sd + 1.0) : 1.0 / (sd + 1.0),
                     b = 1.0 / (sd + 1.0);
        for (std::size_t r = 0; r < n_; ++r) scaled_true_[r] = a * base_true_[r];
        for (std::size_t r = 0; r < scaled_sum_.size(); ++r) scaled_sum_[r] = a * base_sum_[r];
        const bool affine = !table_.p_float.empty();  // every member row sums to 1: q = u + v p, screened
        if (affine) {
            for (std::size_t r = 0; r < n_; ++r) {
                const double inverse = multiclass_ ? 1.0 / (scaled_sum_[r] + b) : 1.0;
                u_[r] = scaled_true_[r] * inverse;
                v_[r] = b * inverse;
            }
        }
        const double scale = -1.0 / static_cast<double>(n_);
        if (!affine) {
            parallel_for(count_, 4, [&](std::size_t begin, std::size_t end) {
                for (std::size_t j = begin; j < end; ++j)
                    errors[j] = scale * sum_log_mix(scaled_true_, scaled_sum_, table_.p.data() + j * n_,
                                                    table_.row_sum.data() + j * n_, b);
            });
            return;
        }
        // Screen every candidate on the float32 copy (half the memory traffic), then score exactly, in
        // float64, the candidates within reach of the best: any other is worse than the best by more than
        // the 1e-6 rounding step, so it can be neither chosen nor tied (selection_kernels.hpp bounds the
        // screen's error). The others keep their screened error.
        parallel_for(count_, 4, [&](std::size_t begin, std::size_t end) {
            for (std::size_t j = begin; j < end; ++j)
                errors[j] =
                    scale * screen_log_affine(u_.data(), v_.data(), table_.p_float.data() + j * n_, n_);
        });
        double best = errors[0];
        for (double e : errors) best = std::min(best, e);
        const double reach = best + 1e-6 + 2.0 * float_screen_error + 1e-12 * std::abs(best);
        std::vector<std::size_t> close;
        for (std::size_t j = 0; j < count_; ++j)
            if (!(errors[j] > reach)) close.push_back(j);
        parallel_for(close.size(), 1, [&](std::size_t begin, std::size_t end) {
            std::vector<double> exact(n_);
            for (std::size_t i = begin; i < end; ++i) {
                member_true_class(block_, close[i], labels_, exact.data());
                errors[close[i]] = scale * sum_log_affine(u_.data(), v_.data(), exact.data(), n_);
            }
        });
    }

    void add(std::size_t j, std::size_t s_after) override {
        if (table_.p.empty()) {
            std::vector<double> chosen(n_);
            member_true_class(block_, j, labels_, chosen.data());
            update_base(base_true_, chosen, s_after, mode_);
        } else {
            update_base(base_true_, std::span<const double>(table_.p.data() + j * n_, n_), s_after, mode_);
        }
        if (!multiclass_) return;
        if (table_.row_sum.empty()) {
            const std::vector<double> ones(n_, 1.0);
            update_base(base_sum_, ones, s_after, mode_);
        } else {
            update_base(base_sum_, std::span<const double>(table_.row_sum.data() + j * n_, n_), s_after,
                        mode_);
        }
    }

private:
    const member_block& block_;
    std::span<const std::int64_t> labels_;
    true_class_table table_;
    std::size_t n_, count_;
    bool multiclass_;
    selection_mode mode_;
    std::vector<double> base_true_, base_sum_, scaled_true_, scaled_sum_, u_, v_;
};

/// Brier / RMSE through the Gram matrix (see selection_kernels.hpp).
class squared_error_scorer final : public candidate_scorer {
public:
    squared_error_scorer(const member_block& block, std::span<const std::int64_t> labels,
                         std::span<const double> targets, selection_metric metric)
        : gram_{member_gram(block)},
          count_{block.size()},
          n_{block.rows},
          counts_(block.size(), 0.0),
          metric_{metric} {
        label_products_ = member_label_products(block, labels, targets, y_norm2_);
        // Brier of a single column expands it to two columns: (p - y)^2 twice.
        factor_ = (metric == selection_metric::brier && block.columns == 1) ? 2.0 : 1.0;
    }

    void score(std::size_t s, std::span<double> errors) override {
        const double b = 1.0 / (static_cast<double>(s) + 1.0);
        std::vector<double> d(count_), gd(count_, 0.0);
        for (std::size_t k = 0; k < count_; ++k) d[k] = counts_[k] * b;
        double dgd = 0.0, dpy = 0.0;
        for (std::size_t k = 0; k < count_; ++k) {
            if (d[k] == 0.0) continue;
            for (std::size_t l = 0; l < count_; ++l) gd[l] += d[k] * gram_[k * count_ + l];
            dpy += d[k] * label_products_[k];
        }
        for (std::size_t k = 0; k < count_; ++k) dgd += d[k] * gd[k];
        for (std::size_t j = 0; j < count_; ++j) {
            const double sq = dgd + b * b * gram_[j * count_ + j] + y_norm2_ + 2.0 * b * gd[j] - 2.0 * dpy -
                              2.0 * b * label_products_[j];
            const double mean = factor_ * std::max(sq, 0.0) / static_cast<double>(n_);
            errors[j] = metric_ == selection_metric::rmse ? std::sqrt(mean) : mean;
        }
    }

    void add(std::size_t j, std::size_t) override { counts_[j] += 1.0; }

private:
    std::vector<double> gram_;
    std::size_t count_, n_;
    std::vector<double> counts_, label_products_;
    double y_norm2_ = 0.0, factor_ = 1.0;
    selection_metric metric_;
};

/// Any loss: builds each candidate in float64 (AutoGluon's or auto-sklearn's arithmetic) and evaluates it.
class generic_scorer final : public candidate_scorer {
public:
    generic_scorer(const member_block& block, selection_loss loss, selection_mode mode)
        : block_{block},
          loss_{std::move(loss)},
          mode_{mode},
          size_{block.rows * block.columns},
          base_(size_, 0.0) {}

    void score(std::size_t s, std::span<double> errors) override {
        const double sd = static_cast<double>(s), b = 1.0 / (sd + 1.0);
        std::vector<double> weighted(size_);
        for (std::size_t i = 0; i < size_; ++i)
            weighted[i] = mode_ == selection_mode::autogluon ? (sd / (sd + 1.0)) * base_[i] : base_[i];
        const bool renormalise = mode_ == selection_mode::autogluon && block_.columns > 1;
        parallel_for(block_.size(), 1, [&](std::size_t begin, std::size_t end) {
            std::vector<double> candidate(size_);
            for (std::size_t j = begin; j < end; ++j) {
                with_member_data(block_.members[j], [&](const auto* p) {
                    for (std::size_t i = 0; i < size_; ++i) {
                        candidate[i] = mode_ == selection_mode::autogluon
                                           ? weighted[i] + b * static_cast<double>(p[i])
                                           : (weighted[i] + static_cast<double>(p[i])) * b;
                    }
                });
                if (renormalise) {
                    for (std::size_t r = 0; r < block_.rows; ++r) {
                        double* row = candidate.data() + r * block_.columns;
                        double sum = 0.0;
                        for (std::size_t c = 0; c < block_.columns; ++c) sum += row[c];
                        for (std::size_t c = 0; c < block_.columns; ++c) row[c] /= sum;
                    }
                }
                errors[j] = loss_(candidate, block_.columns);
            }
        });
    }

    void add(std::size_t j, std::size_t s_after) override {
        std::vector<double> values(size_);
        with_member_data(block_.members[j], [&](const auto* p) {
            for (std::size_t i = 0; i < size_; ++i) values[i] = static_cast<double>(p[i]);
        });
        update_base(base_, values, s_after, mode_);
    }

private:
    const member_block& block_;
    selection_loss loss_;
    selection_mode mode_;
    std::size_t size_;
    std::vector<double> base_;
};

}  // namespace blend::ensemble::detail
