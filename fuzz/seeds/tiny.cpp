// The C++ seed: namespaces, a class with members and a virtual method, a template, a
// reference parameter. Built by fuzz/make-corpus.sh.

namespace shapes {
template <typename T> struct box {
    T value;
    T get() const { return value; }
};

class widget {
  public:
    virtual int area(const box<int> &b) const { return b.get() * side; }
    int side = 3;
};
} // namespace shapes

volatile int tiny_cpp_sink;
shapes::widget tiny_widget;

__attribute__((noinline)) int use(const shapes::widget &w, shapes::box<int> b) {
    return w.area(b) + b.get();
}

extern "C" void _start() {
    shapes::box<int> b{4};
    tiny_cpp_sink = use(tiny_widget, b);
    for (;;)
        __asm__ volatile("" ::: "memory");
}
