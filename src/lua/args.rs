//! Checking the arguments of API functions: every wrong type or value gives a Lua error that
//! names the function and the argument (`bad argument #2 to 'pmodule.address_read_raw' (size):
//! integer expected, got string`), never a panic.

use mlua::{AnyUserData, Function, MultiValue, Table, UserData, UserDataRef, Value};

/// The arguments of one call of API function `function`.
pub struct Args {
    function: &'static str,
    values: Vec<Value>,
}

/// The Lua type name of a value, as Lua's own messages say it.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "light userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) => "userdata",
        Value::Error(_) => "error",
        _ => "value",
    }
}

impl Args {
    /// The arguments `values` of `function`.
    pub fn new(function: &'static str, values: MultiValue) -> Self {
        Args {
            function,
            values: values.into_iter().collect(),
        }
    }

    /// How many arguments were passed.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether none was passed.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The function's name, for messages.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// Argument `n` (1-based), nil when absent.
    pub fn get(&self, n: usize) -> &Value {
        static NIL: Value = Value::Nil;
        n.checked_sub(1).and_then(|i| self.values.get(i)).unwrap_or(&NIL)
    }

    /// Arguments from `n` on.
    pub fn rest(&self, n: usize) -> Vec<Value> {
        self.values.iter().skip(n.saturating_sub(1)).cloned().collect()
    }

    /// An error about argument `n` (`name`).
    pub fn error(&self, n: usize, name: &str, problem: impl std::fmt::Display) -> mlua::Error {
        mlua::Error::runtime(format!(
            "bad argument #{n} to '{}' ({name}): {problem}",
            self.function
        ))
    }

    fn expected(&self, n: usize, name: &str, what: &str) -> mlua::Error {
        self.error(
            n,
            name,
            format!("{what} expected, got {}", type_name(self.get(n))),
        )
    }

    /// Whether argument `n` is absent or nil.
    pub fn is_nil(&self, n: usize) -> bool {
        matches!(self.get(n), Value::Nil)
    }

    /// Argument `n` as an integer (a float with an integral value is accepted).
    pub fn integer(&self, n: usize, name: &str) -> mlua::Result<i64> {
        match self.get(n) {
            Value::Integer(i) => Ok(*i),
            Value::Number(f) if f.fract() == 0.0 && *f >= -(2f64.powi(63)) && *f < 2f64.powi(63) => {
                Ok(*f as i64)
            }
            Value::Number(_) => Err(self.error(n, name, "number has no integer representation")),
            _ => Err(self.expected(n, name, "integer")),
        }
    }

    /// Argument `n` as an integer, or `None` when nil or absent.
    pub fn opt_integer(&self, n: usize, name: &str) -> mlua::Result<Option<i64>> {
        if self.is_nil(n) {
            Ok(None)
        } else {
            self.integer(n, name).map(Some)
        }
    }

    /// Argument `n` as an address (an integer, taken as 64 unsigned bits).
    pub fn address(&self, n: usize, name: &str) -> mlua::Result<u64> {
        self.integer(n, name).map(|i| i as u64)
    }

    /// Argument `n` as a non-negative size no larger than `max`.
    pub fn size(&self, n: usize, name: &str, max: usize) -> mlua::Result<usize> {
        let value = self.integer(n, name)?;
        if value < 0 {
            return Err(self.error(n, name, format!("must not be negative, got {value}")));
        }
        let value = usize::try_from(value).unwrap_or(usize::MAX);
        if value > max {
            return Err(self.error(n, name, format!("{value} is larger than the limit of {max}")));
        }
        Ok(value)
    }

    /// Argument `n` as a number.
    pub fn number(&self, n: usize, name: &str) -> mlua::Result<f64> {
        match self.get(n) {
            Value::Integer(i) => Ok(*i as f64),
            Value::Number(f) => Ok(*f),
            _ => Err(self.expected(n, name, "number")),
        }
    }

    /// Argument `n` as a string (numbers are converted, as Lua does).
    pub fn string(&self, n: usize, name: &str) -> mlua::Result<String> {
        match self.get(n) {
            Value::String(s) => Ok(s.to_string_lossy()),
            Value::Integer(i) => Ok(i.to_string()),
            Value::Number(f) => Ok(f.to_string()),
            _ => Err(self.expected(n, name, "string")),
        }
    }

    /// Argument `n` as a string, or `None` when nil or absent.
    pub fn opt_string(&self, n: usize, name: &str) -> mlua::Result<Option<String>> {
        if self.is_nil(n) {
            Ok(None)
        } else {
            self.string(n, name).map(Some)
        }
    }

    /// Argument `n` as a boolean, `default` when nil or absent.
    pub fn opt_boolean(&self, n: usize, name: &str, default: bool) -> mlua::Result<bool> {
        match self.get(n) {
            Value::Nil => Ok(default),
            Value::Boolean(b) => Ok(*b),
            _ => Err(self.expected(n, name, "boolean")),
        }
    }

    /// Argument `n` as a function.
    pub fn function_arg(&self, n: usize, name: &str) -> mlua::Result<Function> {
        match self.get(n) {
            Value::Function(f) => Ok(f.clone()),
            _ => Err(self.expected(n, name, "function")),
        }
    }

    /// Argument `n` as a table, or `None` when nil or absent.
    pub fn opt_table(&self, n: usize, name: &str) -> mlua::Result<Option<Table>> {
        match self.get(n) {
            Value::Nil => Ok(None),
            Value::Table(t) => Ok(Some(t.clone())),
            _ => Err(self.expected(n, name, "table")),
        }
    }

    /// Argument `n` as a userdata of type `T` (`what` names it in messages).
    pub fn userdata<T: UserData + 'static>(
        &self,
        n: usize,
        name: &str,
        what: &str,
    ) -> mlua::Result<UserDataRef<T>> {
        match self.get(n) {
            Value::UserData(ud) => ud
                .borrow::<T>()
                .map_err(|_| self.error(n, name, format!("{what} expected, got another userdata"))),
            _ => Err(self.expected(n, name, what)),
        }
    }

    /// Argument `n` as a userdata of type `T`, or `None` when nil or absent.
    pub fn opt_userdata<T: UserData + 'static>(
        &self,
        n: usize,
        name: &str,
        what: &str,
    ) -> mlua::Result<Option<UserDataRef<T>>> {
        if self.is_nil(n) {
            Ok(None)
        } else {
            self.userdata(n, name, what).map(Some)
        }
    }
}

/// Whether `value` is a userdata of type `T`.
pub fn is_userdata<T: 'static>(value: &Value) -> bool {
    matches!(value, Value::UserData(ud) if ud.is::<T>())
}

/// The userdata in `value`, if it is one.
pub fn as_userdata(value: &Value) -> Option<&AnyUserData> {
    match value {
        Value::UserData(ud) => Some(ud),
        _ => None,
    }
}
