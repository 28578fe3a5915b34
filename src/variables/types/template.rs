//! C++ template argument lists in type names, as DWARF and demanglers spell them:
//! `std::map<int, std::vector<std::pair<int,int> > >` has the arguments `int` and
//! `std::vector<std::pair<int,int> >`.
//!
//! The argument list read is the one of the name's last component (`Outer<A>::Inner<B>` gives
//! `B`; `std::vector<int>::iterator` has none). Arguments are split at the commas outside any
//! `<>`, `()`, `[]`, `{}` and character or string literal, and trimmed; their inner spelling is
//! kept as written. `operator<` and friends inside arguments (`&C::operator<`) are read as
//! names. Not handled: an unparenthesized comparison inside a parenthesized argument
//! (`Foo<(1 < 2)>`), which compilers do not write (they fold the constant).

/// The `n`-th (0-based) template argument of the C++ type name `type_name`, trimmed; `None` when
/// the name's last component has no template arguments, it has fewer than `n + 1`, or the name
/// is not well formed.
///
/// Leading `const`/`volatile` and trailing declarators (`*`, `&`, `const`) around the name are
/// allowed: `const std::vector<int> &` has the argument `int`. So is the `bt_type_pp` spelling
/// of an aggregate: `const struct(Ring<int, 4>) &` has the arguments `int` and `4`.
pub fn template_nth_argument(type_name: &str, n: usize) -> Option<String> {
    template_arguments(type_name)?.into_iter().nth(n)
}

/// Every template argument of the last component of `type_name` (see
/// [`template_nth_argument`]); `Some(vec![])` for `Foo<>`.
pub fn template_arguments(type_name: &str) -> Option<Vec<String>> {
    let untagged = untag(type_name);
    let type_name = untagged.as_str();
    let (open, close) = last_argument_list(type_name)?;
    let inner = type_name.get(open + 1..close)?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    let arguments: Vec<String> = split_top_level(inner)?
        .into_iter()
        .map(|a| a.trim().to_string())
        .collect();
    if arguments.iter().any(String::is_empty) {
        return None;
    }
    Some(arguments)
}

/// `type_name` with a `bt_type_pp` tag around its name removed: `const struct(A<int>) &` gives
/// `const A<int> &` (likewise `enum(...)`); other names are returned as they are.
fn untag(type_name: &str) -> String {
    for tag in ["struct(", "enum("] {
        let Some(start) = type_name.find(tag) else {
            continue;
        };
        if type_name[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        {
            continue;
        }
        let inner = start + tag.len();
        let mut depth = 1usize;
        for (at, c) in type_name[inner..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                let end = inner + at;
                return format!(
                    "{}{}{}",
                    &type_name[..start],
                    &type_name[inner..end],
                    &type_name[end + 1..]
                );
            }
        }
    }
    type_name.to_string()
}

/// The byte positions of the `<` and `>` of the argument list of the last name component.
fn last_argument_list(name: &str) -> Option<(usize, usize)> {
    let mut stack: Vec<char> = Vec::new();
    let mut last_group = None;
    let mut group_open = 0;
    let mut scanner = Scanner::new(name);
    while let Some((at, c)) = scanner.next_token()? {
        match c {
            '<' => {
                if stack.is_empty() {
                    group_open = at;
                }
                stack.push('<');
            }
            '>' => match stack.last() {
                Some('<') => {
                    stack.pop();
                    if stack.is_empty() {
                        last_group = Some((group_open, at));
                    }
                }
                // `>` inside parentheses: an operator of an expression argument.
                Some(_) => {}
                None => return None,
            },
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let opener = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(opener) {
                    return None;
                }
            }
            _ => {}
        }
    }
    if !stack.is_empty() {
        return None;
    }
    let (open, close) = last_group?;
    // The list belongs to a name: an identifier character right before `<`.
    let before = name.get(..open)?.trim_end();
    if !before.chars().last().is_some_and(is_identifier_char) {
        return None;
    }
    // Only declarators and qualifiers may follow it (not `::member`).
    if !is_declarator_suffix(name.get(close + 1..)?) {
        return None;
    }
    Some((open, close))
}

/// Splits `inner` at the commas outside brackets and literals.
fn split_top_level(inner: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut depth: Vec<char> = Vec::new();
    let mut start = 0;
    let mut scanner = Scanner::new(inner);
    while let Some((at, c)) = scanner.next_token()? {
        match c {
            '<' | '(' | '[' | '{' => depth.push(c),
            // A `>` inside parentheses is an operator, not a closer.
            '>' if depth.last() == Some(&'<') => {
                depth.pop();
            }
            ')' | ']' | '}' => {
                depth.pop();
            }
            ',' if depth.is_empty() => {
                parts.push(inner.get(start..at)?);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(inner.get(start..)?);
    Some(parts)
}

/// Whether `rest` holds only whitespace, `*`, `&` and the words `const` and `volatile`.
fn is_declarator_suffix(rest: &str) -> bool {
    rest.split(|c: char| c.is_whitespace() || c == '*' || c == '&')
        .all(|word| matches!(word, "" | "const" | "volatile"))
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// The C++ operator tokens that may follow `operator` in a name, longest first.
const OPERATOR_TOKENS: &[&str] = &[
    "<=>", "<<=", ">>=", "->*", "new[]", "delete[]", "<<", ">>", "<=", ">=", "->", "==", "!=", "&&", "||",
    "++", "--", "+=", "-=", "*=", "/=", "%=", "^=", "&=", "|=", "()", "[]", "new", "delete", "<", ">", "+",
    "-", "*", "/", "%", "^", "&", "|", "~", "!", "=", ",",
];

/// Walks a name yielding the bracket and comma characters that matter, with their byte
/// positions; skips character and string literals and the symbol of `operator` names. Yields
/// `Err`-like `None` (through `next_token`) on an unterminated literal.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    /// `Some(Some((position, char)))` for the next structural character, `Some(None)` at the
    /// end, `None` when the text is malformed.
    fn next_token(&mut self) -> Option<Option<(usize, char)>> {
        loop {
            let rest = self.text.get(self.at..)?;
            let Some(c) = rest.chars().next() else {
                return Some(None);
            };
            let at = self.at;
            if c == '\'' || c == '"' {
                self.at = at + literal_length(rest, c)?;
                continue;
            }
            if rest.starts_with("operator") && !self.identifier_before(at) {
                let after = &rest["operator".len()..];
                let trimmed = after.trim_start();
                let spaces = after.len() - trimmed.len();
                // `operator` as a prefix of a longer identifier (`operators`) is a plain name.
                if !after.chars().next().is_some_and(is_identifier_char) || spaces > 0 {
                    if let Some(token) = OPERATOR_TOKENS.iter().find(|t| trimmed.starts_with(*t)) {
                        if !token.chars().all(is_identifier_char) || spaces > 0 {
                            self.at = at + "operator".len() + spaces + token.len();
                            continue;
                        }
                    }
                }
            }
            self.at = at + c.len_utf8();
            if matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '{' | '}' | ',') {
                return Some(Some((at, c)));
            }
        }
    }

    fn identifier_before(&self, at: usize) -> bool {
        self.text
            .get(..at)
            .and_then(|s| s.chars().last())
            .is_some_and(is_identifier_char)
    }
}

/// The byte length of the literal opened by `quote` at the start of `text` (escapes honoured);
/// `None` when it is not closed.
fn literal_length(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some(i + c.len_utf8());
        }
    }
    None
}

/// `name` spelled as gcc writes C++ type names in DWARF: no spaces inside `<`, before `,` or
/// before `>`, one space after each `,`, and `> >` between closing brackets
/// (`std::vector<std::pair<int,int>>` becomes `std::vector<std::pair<int, int> >`). Other spaces
/// (`unsigned int`, `void (int)`) are kept, collapsed to one.
pub fn gcc_spelling(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut pending_space = false;
    for c in name.trim().chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        let last = out.chars().last();
        let space = match c {
            '>' => last == Some('>'),
            ',' | '<' => false,
            _ => last == Some(',') || (pending_space && !matches!(last, Some('<') | None)),
        };
        if space {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nth(name: &str, n: usize) -> Option<String> {
        template_nth_argument(name, n)
    }

    #[test]
    fn nested_arguments_stay_whole() {
        let map = "std::map<int, std::vector<std::pair<int,int> > >";
        assert_eq!(nth(map, 0).as_deref(), Some("int"));
        assert_eq!(nth(map, 1).as_deref(), Some("std::vector<std::pair<int,int> >"));
        assert_eq!(nth(map, 2), None);
        // C++11 spelling without spaces between closers.
        let tight = "std::map<int,std::vector<std::pair<int,int>>>";
        assert_eq!(nth(tight, 1).as_deref(), Some("std::vector<std::pair<int,int>>"));
        assert_eq!(
            template_arguments("std::pair<int,int>"),
            Some(vec!["int".to_string(), "int".to_string()])
        );
    }

    #[test]
    fn gcc_names_of_the_standard_library() {
        let string = "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
        assert_eq!(nth(string, 0).as_deref(), Some("char"));
        assert_eq!(nth(string, 1).as_deref(), Some("std::char_traits<char>"));
        assert_eq!(nth(string, 2).as_deref(), Some("std::allocator<char>"));
        let vector = format!("std::vector<{string}, std::allocator<{string}> >");
        assert_eq!(nth(&vector, 0).as_deref(), Some(string));
        assert_eq!(nth(&vector, 1), Some(format!("std::allocator<{string}>")));
        let unordered = "std::unordered_map<long, double, std::hash<long>, std::equal_to<long>, \
                         std::allocator<std::pair<long const, double> > >";
        assert_eq!(
            nth(unordered, 4).as_deref(),
            Some("std::allocator<std::pair<long const, double> >")
        );
        assert_eq!(nth(unordered, 5), None);
    }

    #[test]
    fn non_type_and_function_arguments() {
        assert_eq!(nth("shop::inventory::Ring<int, 4>", 1).as_deref(), Some("4"));
        assert_eq!(nth("Ring<double, -3>", 1).as_deref(), Some("-3"));
        assert_eq!(nth("std::array<unsigned long, 16ul>", 1).as_deref(), Some("16ul"));
        assert_eq!(
            nth("std::function<void (int, char)>", 0).as_deref(),
            Some("void (int, char)")
        );
        assert_eq!(nth("std::function<void (int, char)>", 1), None);
        assert_eq!(
            nth("Table<int (*)(char, long), 3>", 0).as_deref(),
            Some("int (*)(char, long)")
        );
        assert_eq!(nth("Table<int (*)(char, long), 3>", 1).as_deref(), Some("3"));
        assert_eq!(nth("Grid<int [2][3], 1>", 0).as_deref(), Some("int [2][3]"));
        assert_eq!(nth("Flag<(Color)2, true>", 0).as_deref(), Some("(Color)2"));
        assert_eq!(nth("Cmp<(1 > 2)>", 0).as_deref(), Some("(1 > 2)"));
        assert_eq!(
            nth("Box<{lambda(int, int)#1}, 2>", 0).as_deref(),
            Some("{lambda(int, int)#1}")
        );
        assert_eq!(nth("Box<{lambda(int, int)#1}, 2>", 1).as_deref(), Some("2"));
    }

    #[test]
    fn literals_and_operators_do_not_confuse_the_brackets() {
        assert_eq!(nth("Char<'>', ','>", 0).as_deref(), Some("'>'"));
        assert_eq!(nth("Char<'>', ','>", 1).as_deref(), Some("','"));
        assert_eq!(nth("Char<'\\'', 'x'>", 1).as_deref(), Some("'x'"));
        assert_eq!(
            nth("Ptr<&Cmp::operator<, 1>", 0).as_deref(),
            Some("&Cmp::operator<")
        );
        assert_eq!(nth("Ptr<&Cmp::operator<, 1>", 1).as_deref(), Some("1"));
        assert_eq!(
            nth("Ptr<&Cmp::operator>>, 2>", 0).as_deref(),
            Some("&Cmp::operator>>")
        );
        assert_eq!(nth("Ptr<&Cmp::operator->, 2>", 1).as_deref(), Some("2"));
        assert_eq!(
            nth("Ptr<&Cmp::operator(), 2>", 0).as_deref(),
            Some("&Cmp::operator()")
        );
        assert_eq!(nth("Ptr<&Cmp::operator<=>, 2>", 1).as_deref(), Some("2"));
        // `operators` is a plain identifier.
        assert_eq!(nth("Holder<operators, 2>", 0).as_deref(), Some("operators"));
        assert_eq!(nth("Str<\"a<b,c\">", 0).as_deref(), Some("\"a<b,c\""));
    }

    #[test]
    fn the_last_component_and_declarators() {
        assert_eq!(nth("Outer<int>::Inner<char, long>", 0).as_deref(), Some("char"));
        assert_eq!(nth("Outer<int>::Inner<char, long>", 1).as_deref(), Some("long"));
        assert_eq!(nth("std::vector<int>::iterator", 0), None);
        assert_eq!(nth("const std::vector<int> &", 0).as_deref(), Some("int"));
        assert_eq!(nth("std::vector<int> const *const *", 0).as_deref(), Some("int"));
        assert_eq!(nth("std::vector<int>&&", 0).as_deref(), Some("int"));
        assert_eq!(
            nth("(anonymous namespace)::Local<short>", 0).as_deref(),
            Some("short")
        );
        assert_eq!(nth("  Spaced < int ,  char >  ", 1).as_deref(), Some("char"));
    }

    #[test]
    fn the_bt_type_pp_spelling_is_read_through_its_tag() {
        assert_eq!(nth("struct(ns::Ring<int, 4>)", 1).as_deref(), Some("4"));
        assert_eq!(
            nth("const struct(Ring<double, 3>) &", 0).as_deref(),
            Some("double")
        );
        assert_eq!(
            nth("struct(Box<std::pair<int, int> >) *", 0).as_deref(),
            Some("std::pair<int, int>")
        );
        assert_eq!(nth("enum(Flags<char>)", 0).as_deref(), Some("char"));
        assert_eq!(nth("struct(plain)", 0), None);
    }

    #[test]
    fn names_without_arguments_or_malformed() {
        assert_eq!(nth("int", 0), None);
        assert_eq!(nth("", 0), None);
        assert_eq!(template_arguments("Empty<>"), Some(vec![]));
        assert_eq!(nth("Empty<>", 0), None);
        assert_eq!(nth("Broken<int", 0), None);
        assert_eq!(nth("Broken<int>>", 0), None);
        assert_eq!(nth("Broken<int)>", 0), None);
        assert_eq!(nth("Broken<(int>", 0), None);
        assert_eq!(nth("Broken<int,>", 0), None);
        assert_eq!(nth("Broken<,int>", 1), None);
        assert_eq!(nth("<int>", 0), None);
        assert_eq!(nth("Char<'>>", 0), None);
        assert_eq!(nth("Foo<int> junk", 0), None);
        assert_eq!(nth("Foo<int>", usize::MAX), None);
        // Not a type name: a comparison at top level.
        assert_eq!(nth("a < b", 0), None);
    }

    #[test]
    fn arguments_round_trip_through_their_own_arguments() {
        let name = "A<B<C<D, E>, F>, G<H>>";
        let first = nth(name, 0).unwrap();
        assert_eq!(first, "B<C<D, E>, F>");
        let inner = nth(&first, 0).unwrap();
        assert_eq!(inner, "C<D, E>");
        assert_eq!(nth(&inner, 1).as_deref(), Some("E"));
        assert_eq!(nth(name, 1).as_deref(), Some("G<H>"));
    }

    /// A small deterministic generator (64-bit LCG) for the generated-name test.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// A random type or constant spelling, nested up to `depth` template levels.
    fn generated_argument(rng: &mut Lcg, depth: u32) -> String {
        let leaves = [
            "int",
            "unsigned long",
            "char const*",
            "void (*)(int, char)",
            "'>'",
            "','",
            "-3",
            "(Color)2",
            "int [2][3]",
            "&Cmp::operator<",
            "{lambda(int, int)#1}",
            "(anonymous namespace)::Hidden",
        ];
        if depth == 0 || rng.below(3) == 0 {
            return leaves[rng.below(leaves.len() as u64) as usize].to_string();
        }
        let count = 1 + rng.below(3);
        let arguments: Vec<String> = (0..count).map(|_| generated_argument(rng, depth - 1)).collect();
        let separator = [",", ", ", " ,  "][rng.below(3) as usize];
        let close = if rng.below(2) == 0 { " >" } else { ">" };
        format!("ns::T{}<{}{close}", rng.below(10), arguments.join(separator))
    }

    #[test]
    fn generated_names_split_into_their_arguments() {
        let mut rng = Lcg(0x5eed);
        for _ in 0..2000 {
            let count = 1 + rng.below(4);
            let arguments: Vec<String> = (0..count).map(|_| generated_argument(&mut rng, 3)).collect();
            let name = format!("std::outer<{}>", arguments.join(", "));
            assert_eq!(template_arguments(&name).as_ref(), Some(&arguments), "{name}");
            for (n, argument) in arguments.iter().enumerate() {
                assert_eq!(template_nth_argument(&name, n).as_ref(), Some(argument), "{name}");
            }
            assert_eq!(template_nth_argument(&name, arguments.len()), None, "{name}");
            // A name cut anywhere inside its argument list is malformed.
            let cut = name.len() - 1 - rng.below(name.len() as u64 - "std::outer<".len() as u64) as usize;
            if let Some(prefix) = name.get(..cut) {
                assert_eq!(template_arguments(prefix), None, "{prefix}");
            }
        }
    }

    #[test]
    fn gcc_spelling_normalizes_template_spacing() {
        assert_eq!(
            gcc_spelling("std::vector<std::pair<int,int>>"),
            "std::vector<std::pair<int, int> >"
        );
        assert_eq!(gcc_spelling("Ring< int ,4 >"), "Ring<int, 4>");
        assert_eq!(
            gcc_spelling("std::map<unsigned  int, void (*)(int)>"),
            "std::map<unsigned int, void (*)(int)>"
        );
        assert_eq!(gcc_spelling(" struct foo "), "struct foo");
        assert_eq!(
            gcc_spelling("std::vector<int, std::allocator<int> >"),
            "std::vector<int, std::allocator<int> >"
        );
    }
}
