/*
 * cpp_example.cpp - the C++ example target.
 *
 * Usage: cpp_example hang | segv
 *
 * A small shop inventory in namespace shop::inventory that exercises the
 * C++ a debugger has to show: a base class with virtual methods and data
 * (Item) and a derived class adding members (Tool), a class template
 * instantiated twice (Ring<int, 4> and Ring<double, 3>), an enum class
 * (Category), a static member (Item::created), std::string and std::vector
 * members and locals, lvalue and rvalue reference parameters, a function
 * pointer member and a lambda.
 *
 * main() builds the data (see build_shelf() and the values documented on
 * each type), then an Auditor descends walk(3) ... walk(0): four frames of
 * a member function taking the shelf and the item by reference and a note
 * by rvalue reference. What happens at the bottom depends on the mode:
 *
 *   hang   print "ready" (flushed) and park forever in pause()
 *   segv   invalid write to address 0x10 (the line marked
 *          CPP INVALID WRITE)
 *
 * Unknown or missing mode: usage on stderr, exit status 2.
 */
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "examples.h"

namespace shop {
namespace inventory {

/* What an item is for. Values start at 1 so 0 is never a valid label. */
enum class Category : unsigned char {
	Tools = 1,
	Garden = 2,
	Kitchen = 3,
};

/*
 * The base class: virtual methods and data. Every constructor call takes
 * the next serial number from the static member `created`.
 */
class Item {
public:
	Item(std::string name, int quantity, double unit_price)
		: name_(std::move(name)), quantity_(quantity),
		  unit_price_(unit_price), serial_(++created)
	{
	}
	virtual ~Item() = default;

	/* Stock value: quantity * unit price (tools may add a premium). */
	virtual double value() const
	{
		return quantity_ * unit_price_;
	}

	/* What the item is for. */
	virtual Category category() const
	{
		return Category::Kitchen;
	}

	/* Number of Item objects constructed so far (2 once main has built its data). */
	static int created;

	std::string name_;
	int quantity_;
	double unit_price_;
	int serial_;
};

int Item::created = 0;

/* A derived class adding members: a flag, a char, a float and a vector. */
class Tool : public Item {
public:
	Tool(std::string name, int quantity, double unit_price, bool powered,
	     char grade, float weight_kg, std::vector<int> sizes_mm)
		: Item(std::move(name), quantity, unit_price), powered_(powered),
		  grade_(grade), weight_kg_(weight_kg),
		  sizes_mm_(std::move(sizes_mm))
	{
	}

	/* Powered tools are worth half as much again. */
	double value() const override
	{
		return Item::value() * (powered_ ? 1.5 : 1.0);
	}

	Category category() const override
	{
		return Category::Tools;
	}

	bool powered_;
	char grade_;
	float weight_kg_;
	std::vector<int> sizes_mm_;
};

/*
 * A class template: a ring keeping the last N values pushed (the oldest is
 * overwritten once full). Instantiated as Ring<int, 4> and Ring<double, 3>.
 */
template <typename T, int N>
class Ring {
public:
	void push(const T &value)
	{
		slots_[(head_ + count_) % N] = value;
		if (count_ < N)
			count_++;
		else
			head_ = (head_ + 1) % N;
	}

	T slots_[N] = {};
	int head_ = 0;
	int count_ = 0;
};

/* A pricing rule, called through a function pointer. */
typedef double (*PriceRule)(double);

/* The pricing rule of every shelf here: 10% off. */
static KEEP_FRAME double discount_ten_percent(double price)
{
	return price * 0.9;
}

/*
 * A shelf: a long label (longer than std::string's 15-character inline
 * buffer, so it lives on the heap), tags, the recent stock counts and prices
 * and the pricing rule. build_shelf() fills it with:
 *
 *   label          "power tools, aisle 7 (back wall)"
 *   tags           { "sale", "heavy" }
 *   recent_counts  pushed 5, 6, 7, 8, 9: slots_ = { 9, 6, 7, 8 },
 *                  head_ = 1, count_ = 4
 *   recent_prices  pushed 12.5, 89.99: slots_ = { 12.5, 89.99, 0 },
 *                  head_ = 0, count_ = 2
 *   pricing        discount_ten_percent
 */
struct Shelf {
	std::string label;
	std::vector<std::string> tags;
	Ring<int, 4> recent_counts;
	Ring<double, 3> recent_prices;
	PriceRule pricing;
};

/* What the bottom of the walk does. */
enum class Mode {
	Hang,
	Segv,
};

/*
 * Walks down the shelf: walk(depth, ...) calls walk(depth - 1, ...) until
 * depth 0. KEEP_FRAME (gcc's noipa) keeps each call a real frame of
 * shop::inventory::Auditor::walk at every optimisation level, and the
 * locals are used after the recursive call so they live in the frame.
 */
class Auditor {
public:
	Auditor(Mode mode, Category focus) : mode_(mode), focus_(focus), visits_(0)
	{
	}

	KEEP_FRAME unsigned long walk(int depth, const Shelf &shelf, Item &item,
				      std::string &&note);

	Mode mode_;
	Category focus_;
	unsigned long visits_;
};

/*
 * An address in the unmapped first page, read through a volatile pointer
 * so the compiler neither warns about the constant nor drops the store.
 */
static volatile int *volatile cpp_bad_address = reinterpret_cast<volatile int *>(16);

/*
 * One frame of the walk. Locals of walk(d): step = note + "/d" (the notes
 * grow "audit", "audit/3", "audit/3/2", ...), trail = d + 1 copies of d,
 * and the lambda `weigh` capturing this and depth.
 */
unsigned long Auditor::walk(int depth, const Shelf &shelf, Item &item,
			    std::string &&note)
{
	std::string step = note + "/" + std::to_string(depth);
	std::vector<int> trail(static_cast<size_t>(depth) + 1, depth);
	auto weigh = [this, depth](const Item &it) {
		return it.value() * depth + static_cast<double>(visits_);
	};

	visits_++;
	if (depth > 0) {
		std::string next = step;
		walk(depth - 1, shelf, item, std::move(next));
	} else if (mode_ == Mode::Hang) {
		std::printf("ready\n");
		std::fflush(stdout);
		for (;;)
			pause();
	} else {
		*cpp_bad_address = 1; /* CPP INVALID WRITE */
	}

	/* Use every local after the call: they must survive -O2. */
	visits_ += step.size() + trail.size() + shelf.tags.size() +
		   static_cast<unsigned long>(weigh(item) +
					      shelf.pricing(item.unit_price_));
	return visits_;
}

/* Fill a shelf with the values documented on struct Shelf. */
static KEEP_FRAME void build_shelf(Shelf &shelf, std::string &&label)
{
	shelf.label = std::move(label);
	shelf.tags.push_back("sale");
	shelf.tags.push_back("heavy");
	for (int count = 5; count <= 9; count++)
		shelf.recent_counts.push(count);
	shelf.recent_prices.push(12.5);
	shelf.recent_prices.push(89.99);
	shelf.pricing = discount_ten_percent;
}

} /* namespace inventory */
} /* namespace shop */

static void usage(const char *argv0)
{
	std::fprintf(stderr,
		     "usage: %s MODE\n"
		     "modes:\n"
		     "  hang  print \"ready\" and park in pause() at the bottom of the walk\n"
		     "  segv  invalid write at the bottom of the walk\n",
		     argv0);
}

int main(int argc, char **argv)
{
	using namespace shop::inventory;

	const char *argv0 = argc > 0 ? argv[0] : "cpp_example";
	Mode mode;

	if (argc == 2 && std::strcmp(argv[1], "hang") == 0) {
		mode = Mode::Hang;
	} else if (argc == 2 && std::strcmp(argv[1], "segv") == 0) {
		mode = Mode::Segv;
	} else {
		usage(argv0);
		return 2;
	}

	/* Serial 1 and 2; Item::created == 2 from here on. */
	Tool hammer("hammer", 3, 12.5, false, 'A', 0.75f, { 10, 12, 14 });
	Tool drill("drill", 1, 89.99, true, 'B', 1.5f, { 6, 8 });
	Shelf shelf{};
	build_shelf(shelf, std::string("power tools, aisle 7 (back wall)"));

	Auditor auditor(mode, Category::Tools);
	unsigned long visits = auditor.walk(3, shelf, drill, std::string("audit"));

	/* Not reached: both modes park or die at the bottom. */
	std::fprintf(stderr, "%s: the walk returned (%lu visits, %s)\n", argv0,
		     visits, hammer.name_.c_str());
	return 1;
}
