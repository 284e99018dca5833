/* SPDX-License-Identifier: MIT */
/**
 * Use libtransfer from C++11: RAII handles (std::unique_ptr with the library's free functions as
 * deleters) and exceptions made from status codes. Loads a fine-tuned model and classifies each
 * line of a file (or of stdin), printing `label<TAB>p(class)=...` per line.
 *
 * usage: cpp_predict MODEL [FILE]
 */
#include <transfer.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace transfer {

/** A failed libtransfer call: the status code and the library's message. */
class Error : public std::runtime_error {
  public:
    Error(tf_status_t status, const std::string &what)
        : std::runtime_error(what + ": " + tf_status_str(status) + ": " + tf_last_error_message()),
          status_(status)
    {
    }
    tf_status_t status() const { return status_; }

  private:
    tf_status_t status_;
};

/** Throw for any status but TF_STATUS_OK (call it right after the failing call: the message is
 *  per thread and the next call replaces it). */
inline void check(tf_status_t status, const std::string &what)
{
    if (status != TF_STATUS_OK)
        throw Error(status, what);
}

struct ContextDeleter {
    void operator()(tf_ctx_t *ctx) const { tf_ctx_free(ctx); }
};
struct ModelDeleter {
    void operator()(tf_model_t *model) const { tf_model_free(model); }
};
typedef std::unique_ptr<tf_ctx_t, ContextDeleter> ContextPtr;
typedef std::unique_ptr<tf_model_t, ModelDeleter> ModelPtr;

inline ContextPtr make_context(int threads)
{
    tf_ctx_opts_t opts;
    check(tf_ctx_opts_init(&opts, TF_CTX_OPTS_VERSION), "tf_ctx_opts_init");
    opts.num_threads = threads;
    tf_ctx_t *raw = nullptr;
    check(tf_ctx_create(&raw, &opts), "creating a context");
    return ContextPtr(raw);
}

/** A fine-tuned text classifier. The context must outlive it. */
class Classifier {
  public:
    Classifier(tf_ctx_t *ctx, const std::string &path)
    {
        tf_model_t *raw = nullptr;
        check(tf_model_load(&raw, ctx, path.c_str(), 0), "loading " + path);
        model_.reset(raw);
        if (tf_model_num_classes(model_.get()) < 1)
            throw std::runtime_error(path + ": not a fine-tuned model (no classes)");
        probs_.resize(static_cast<size_t>(tf_model_num_classes(model_.get())));
    }

    int num_classes() const { return static_cast<int>(probs_.size()); }
    std::string label(int id) const { return tf_model_label_name(model_.get(), id); }

    /** Class probabilities of one text. */
    const std::vector<float> &predict(const std::string &text)
    {
        check(tf_predict_text(model_.get(), text.data(), text.size(), probs_.data(), probs_.size()),
              "tf_predict_text");
        return probs_;
    }

  private:
    ModelPtr model_;
    std::vector<float> probs_;
};

} // namespace transfer

static bool blank(const std::string &s)
{
    return s.find_first_not_of(" \t\r\v\f") == std::string::npos;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || std::string(argv[1]) == "--help") {
        std::cerr << "usage: cpp_predict MODEL [FILE]   (one text per line; stdin without FILE)\n";
        return argc == 2 ? 0 : 1;
    }
    try {
        transfer::ContextPtr ctx = transfer::make_context(0);
        transfer::Classifier clf(ctx.get(), argv[1]);
        std::ifstream file;
        if (argc == 3) {
            file.open(argv[2], std::ios::binary);
            if (!file)
                throw std::runtime_error(std::string("cannot open ") + argv[2]);
        }
        std::istream &in = argc == 3 ? static_cast<std::istream &>(file) : std::cin;
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty() && line[line.size() - 1] == '\r')
                line.erase(line.size() - 1);
            if (blank(line)) { // an empty line out, so outputs line up with inputs
                std::cout << '\n';
                continue;
            }
            const std::vector<float> &p = clf.predict(line);
            int best = 0;
            for (int i = 1; i < clf.num_classes(); i++)
                if (p[static_cast<size_t>(i)] > p[static_cast<size_t>(best)])
                    best = i;
            std::cout << clf.label(best);
            for (int i = 0; i < clf.num_classes(); i++) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(p[static_cast<size_t>(i)]));
                std::cout << "\tp(" << clf.label(i) << ")=" << buf;
            }
            std::cout << '\n';
        }
    } catch (const transfer::Error &e) {
        std::cerr << "cpp_predict: " << e.what() << '\n';
        return 2;
    } catch (const std::exception &e) {
        std::cerr << "cpp_predict: " << e.what() << '\n';
        return 2;
    }
    return 0;
}
