/* Small untrained models for the integration tests, so they never depend on the shipped weights:
 * `test_mkmodel OUT SEED` writes a real .psm (tiny architecture, 64 px working size) that
 * `pstyle learn/apply --model OUT` load like any other. With no arguments it checks that what it
 * writes loads back as the same network, and that two seeds give two model hashes. */
#include "encoder/enc.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

#define MK_WORK_PX 64 /* the smallest working size a model may ask for: fast learn/apply */

static ps_status mkmodel(ps_model *m, uint64_t seed)
{
    const ps_gen_cfg cfg = {.tok = 2, .dim = 8, .c1 = 4, .c2 = 8, .c3 = 8, .heads = 2, .bins = 4,
                            .grid_div = 8};
    ps_status st = ps_model_create(m, &cfg, seed);
    if (st)
        return st;
    m->work_px = MK_WORK_PX;
    return ps_hparams_set(&m->hp, "model.work_px", MK_WORK_PX);
}

static ps_status write_model(const char *path, uint64_t seed)
{
    ps_model m;
    ps_status st = mkmodel(&m, seed);
    if (st)
        return st;
    st = ps_model_save(&m, path);
    ps_model_free(&m);
    return st;
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        ps_status st = write_model(argv[1], strtoull(argv[2], NULL, 10));
        if (st)
            fprintf(stderr, "test_mkmodel: %s\n", ps_last_error());
        return st ? 2 : 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: test_mkmodel [OUT SEED]\n");
        return 1;
    }
    ps_model a, b, c;
    CHECK(write_model("mk1.psm", 1) == PS_OK, "write: %s", ps_last_error());
    CHECK(write_model("mk2.psm", 2) == PS_OK, "write: %s", ps_last_error());
    CHECK(ps_model_load(&a, "mk1.psm") == PS_OK, "load: %s", ps_last_error());
    CHECK(ps_model_load(&b, "mk2.psm") == PS_OK, "load: %s", ps_last_error());
    CHECK(mkmodel(&c, 1) == PS_OK, "create: %s", ps_last_error());
    CHECK(a.work_px == MK_WORK_PX && a.gen.cfg.tok == 2 && a.gen.cfg.dim == 8 &&
          a.gen.cfg.bins == 4, "settings lost: work %d tok %d dim %d", a.work_px, a.gen.cfg.tok,
          a.gen.cfg.dim);
    CHECK(a.p.total == c.p.total && !memcmp(a.p.data, c.p.data, sizeof(float) * c.p.total),
          "weights differ from the written ones");
    CHECK(strcmp(a.hash, b.hash) != 0, "two seeds, one hash %s", a.hash);
    CHECK(ps_model_ntokens(&a) == PS_NGROUPS * 2 * 8, "ntokens %d", ps_model_ntokens(&a));
    ps_model_free(&a);
    ps_model_free(&b);
    ps_model_free(&c);
    remove("mk1.psm");
    remove("mk2.psm");
    return check_done("test_mkmodel");
}
