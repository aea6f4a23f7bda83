//! Instance states, actions and the per-driver state machine (`deltacloud-api.md` §9).

use crate::error::{Error, Result};
use std::fmt;

/// The state of an instance as clients see it. `Display` gives the upper-case wire form
/// (`RUNNING`, `SHUTTING_DOWN`); [`InstanceState::machine_name`] the lower-case name used in
/// `/api/instance_states`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceState {
    Start,
    Pending,
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Finish,
    Error,
    Paused,
    Unknown,
}

impl InstanceState {
    pub const ALL: [Self; 10] = [
        Self::Start,
        Self::Pending,
        Self::Running,
        Self::Stopping,
        Self::Stopped,
        Self::ShuttingDown,
        Self::Finish,
        Self::Error,
        Self::Paused,
        Self::Unknown,
    ];

    /// Upper-case wire name (`RUNNING`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Start => "START",
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Stopping => "STOPPING",
            Self::Stopped => "STOPPED",
            Self::ShuttingDown => "SHUTTING_DOWN",
            Self::Finish => "FINISH",
            Self::Error => "ERROR",
            Self::Paused => "PAUSED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Lower-case state-machine name (`running`, `shutting_down`).
    #[must_use]
    pub const fn machine_name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::ShuttingDown => "shutting_down",
            Self::Finish => "finish",
            Self::Error => "error",
            Self::Paused => "paused",
            Self::Unknown => "unknown",
        }
    }

    /// Parse either form, case-insensitively (`RUNNING`, `running`, `shutting-down`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|st| st.machine_name() == norm)
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a client can ask an instance to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceAction {
    Create,
    Start,
    Stop,
    Reboot,
    Destroy,
}

impl InstanceAction {
    pub const ALL: [Self; 5] = [
        Self::Create,
        Self::Start,
        Self::Stop,
        Self::Reboot,
        Self::Destroy,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Reboot => "reboot",
            Self::Destroy => "destroy",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for InstanceAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What moves an instance along a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A client action.
    Action(InstanceAction),
    /// The cloud moves on by itself.
    Auto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: InstanceState,
    pub to: InstanceState,
    pub trigger: Trigger,
}

/// A driver's finite state machine. Transitions keep their definition order, which is also the
/// order `/api/instance_states` lists states in (order of first mention).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateMachine {
    transitions: Vec<Transition>,
}

impl StateMachine {
    #[must_use]
    pub fn new(transitions: Vec<Transition>) -> Self {
        Self { transitions }
    }

    /// Build from `(from, to, Some(action) | None for automatic)` triples.
    #[must_use]
    pub fn from_table(table: &[(InstanceState, InstanceState, Option<InstanceAction>)]) -> Self {
        Self::new(
            table
                .iter()
                .map(|&(from, to, a)| Transition {
                    from,
                    to,
                    trigger: a.map_or(Trigger::Auto, Trigger::Action),
                })
                .collect(),
        )
    }

    /// The mock driver's machine.
    #[must_use]
    pub fn mock() -> Self {
        use InstanceAction as A;
        use InstanceState as S;
        Self::from_table(&[
            (S::Start, S::Pending, Some(A::Create)),
            (S::Pending, S::Running, None),
            (S::Running, S::Running, Some(A::Reboot)),
            (S::Running, S::Stopped, Some(A::Stop)),
            (S::Stopped, S::Running, Some(A::Start)),
            (S::Stopped, S::Finish, Some(A::Destroy)),
        ])
    }

    #[must_use]
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// States in order of first mention.
    #[must_use]
    pub fn states(&self) -> Vec<InstanceState> {
        let mut out: Vec<InstanceState> = Vec::new();
        for t in &self.transitions {
            for s in [t.from, t.to] {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// Transitions leaving `state`, in definition order.
    pub fn transitions_from(&self, state: InstanceState) -> impl Iterator<Item = &Transition> {
        self.transitions.iter().filter(move |t| t.from == state)
    }

    /// The actions a client may request in `state` (never `create`), in definition order.
    #[must_use]
    pub fn actions_for(&self, state: InstanceState) -> Vec<InstanceAction> {
        let mut out = Vec::new();
        for t in self.transitions_from(state) {
            if let Trigger::Action(a) = t.trigger
                && a != InstanceAction::Create
                && !out.contains(&a)
            {
                out.push(a);
            }
        }
        out
    }

    /// Where `action` takes an instance in `state`, or an invalid-state error (405 on `/api`).
    pub fn next(&self, state: InstanceState, action: InstanceAction) -> Result<InstanceState> {
        self.transitions_from(state)
            .find(|t| t.trigger == Trigger::Action(action))
            .map(|t| t.to)
            .ok_or_else(|| {
                Error::invalid_state(format!("Action '{action}' is not allowed in state {state}"))
            })
    }

    /// Follow automatic transitions from `state` until none is left (pending ⇒ running for the
    /// mock). Stops at the first state that has several or no automatic successors.
    #[must_use]
    pub fn settle(&self, mut state: InstanceState) -> InstanceState {
        for _ in 0..self.transitions.len() {
            let mut autos = self
                .transitions_from(state)
                .filter(|t| t.trigger == Trigger::Auto);
            match (autos.next(), autos.next()) {
                (Some(t), None) if t.to != state => state = t.to,
                _ => break,
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mock_machine_matches_spec() {
        let m = StateMachine::mock();
        use InstanceAction as A;
        use InstanceState as S;
        assert_eq!(
            m.states(),
            vec![S::Start, S::Pending, S::Running, S::Stopped, S::Finish]
        );
        assert_eq!(m.actions_for(S::Running), vec![A::Reboot, A::Stop]);
        assert_eq!(m.actions_for(S::Stopped), vec![A::Start, A::Destroy]);
        assert!(
            m.actions_for(S::Start).is_empty(),
            "create is never an instance action"
        );
        assert_eq!(m.next(S::Running, A::Stop).ok(), Some(S::Stopped));
        assert!(m.next(S::Running, A::Destroy).is_err());
        assert_eq!(m.settle(S::Pending), S::Running);
    }

    #[test]
    fn parse_both_forms() {
        assert_eq!(
            InstanceState::parse("SHUTTING_DOWN"),
            Some(InstanceState::ShuttingDown)
        );
        assert_eq!(
            InstanceState::parse("running"),
            Some(InstanceState::Running)
        );
        assert_eq!(InstanceState::parse("bogus"), None);
    }

    proptest! {
        /// Walking the machine with arbitrary actions never reaches a state outside it, and
        /// every accepted action was listed as allowed beforehand.
        #[test]
        fn walks_stay_inside_the_machine(actions in proptest::collection::vec(0usize..5, 0..40)) {
            let m = StateMachine::mock();
            let states = m.states();
            let mut s = m.settle(InstanceState::Pending);
            for i in actions {
                let a = InstanceAction::ALL[i];
                let allowed = m.actions_for(s).contains(&a);
                match m.next(s, a) {
                    Ok(n) => {
                        prop_assert!(allowed || a == InstanceAction::Create);
                        s = m.settle(n);
                    }
                    Err(_) => prop_assert!(!allowed),
                }
                prop_assert!(states.contains(&s));
            }
        }
    }
}
