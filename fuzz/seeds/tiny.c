/* A small freestanding program whose DWARF has a bit of everything the library reads:
 * parameters and locals, nested scopes, an inlined function, a tail call, recursion, structs,
 * unions, enums, arrays, pointers, bit fields, globals and a thread-local variable. Built by
 * fuzz/make-corpus.sh into the seed inputs. */

enum color { RED, GREEN = 5, BLUE };

struct point {
    int x, y;
    unsigned flags : 3;
    unsigned mode : 5;
};

union number {
    long i;
    double d;
};

struct list {
    struct list *next;
    const char *name;
    struct point where[2];
    union number value;
    enum color color;
};

typedef struct list list_t;

list_t tiny_head = { 0, "head", { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }, { 42 }, GREEN };
static const char tiny_message[16] = "hello fuzzing";
__thread int tiny_counter = 7;
volatile int tiny_sink;

static inline int scale(int v, int by) {
    int scaled = v * by;
    return scaled + tiny_counter;
}

__attribute__((noinline)) int leaf(const list_t *node, int depth) {
    int total = 0;
    for (int i = 0; i < 2; i++) {
        struct point p = node->where[i];
        total += scale(p.x, depth) + p.y + p.flags;
    }
    tiny_sink = total;
    return total;
}

__attribute__((noinline)) int tail(list_t *node, int depth) {
    node->color = BLUE;
    return leaf(node, depth + 1);
}

__attribute__((noinline)) int walk(list_t *node, int depth) {
    if (depth > 0)
        return walk(node, depth - 1) + 1;
    double ratio = node->value.d * 2.5;
    tiny_sink = (int)ratio;
    return tail(node, depth);
}

void _start(void) {
    walk(&tiny_head, 3);
    tiny_sink = tiny_message[0];
    for (;;)
        __asm__ volatile("" ::: "memory");
}
