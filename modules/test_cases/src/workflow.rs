//! The test state machine and who may write what: pure rules, no I/O.
//!
//! `draft → red_executing → blue_evaluating → completed`, `reopen`
//! (completed → blue_evaluating) and `cancel` (from draft or red_executing).

use aegis_core::auth::Role;
use poem_openapi::Enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TestState {
    Draft,
    RedExecuting,
    BlueEvaluating,
    Completed,
    Cancelled,
}

impl TestState {
    pub const ALL: [TestState; 5] = [
        Self::Draft,
        Self::RedExecuting,
        Self::BlueEvaluating,
        Self::Completed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::RedExecuting => "red_executing",
            Self::BlueEvaluating => "blue_evaluating",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    StartExecution,
    SubmitToBlue,
    Complete,
    Reopen,
    Cancel,
}

const RED_SIDE: &[Role] = &[Role::Admin, Role::Lead, Role::RedTech];
const BLUE_SIDE: &[Role] = &[Role::Admin, Role::Lead, Role::BlueTech];
const LEADS: &[Role] = &[Role::Admin, Role::Lead];

impl Transition {
    pub const ALL: [Transition; 5] = [
        Self::StartExecution,
        Self::SubmitToBlue,
        Self::Complete,
        Self::Reopen,
        Self::Cancel,
    ];

    /// The endpoint's last path segment, e.g. `start-execution`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::StartExecution => "start-execution",
            Self::SubmitToBlue => "submit-to-blue",
            Self::Complete => "complete",
            Self::Reopen => "reopen",
            Self::Cancel => "cancel",
        }
    }

    /// Stored and audited name, e.g. `start_execution`.
    pub fn name(self) -> &'static str {
        match self {
            Self::StartExecution => "start_execution",
            Self::SubmitToBlue => "submit_to_blue",
            Self::Complete => "complete",
            Self::Reopen => "reopen",
            Self::Cancel => "cancel",
        }
    }

    pub fn from_states(self) -> &'static [TestState] {
        match self {
            Self::StartExecution => &[TestState::Draft],
            Self::SubmitToBlue => &[TestState::RedExecuting],
            Self::Complete => &[TestState::BlueEvaluating],
            Self::Reopen => &[TestState::Completed],
            Self::Cancel => &[TestState::Draft, TestState::RedExecuting],
        }
    }

    pub fn to_state(self) -> TestState {
        match self {
            Self::StartExecution => TestState::RedExecuting,
            Self::SubmitToBlue => TestState::BlueEvaluating,
            Self::Complete => TestState::Completed,
            Self::Reopen => TestState::BlueEvaluating,
            Self::Cancel => TestState::Cancelled,
        }
    }

    /// Roles that may take this transition.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Self::StartExecution | Self::SubmitToBlue | Self::Cancel => RED_SIDE,
            Self::Complete => BLUE_SIDE,
            Self::Reopen => LEADS,
        }
    }
}

/// The three groups of test fields, each with its writers and open states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldGroup {
    /// Name, technique, campaign, procedure, platform, host, assignees, tags.
    Plan,
    /// executed_at, attack_outcome, red_notes.
    Red,
    /// detection_outcome, detected_at, detection_source, blue_notes.
    Blue,
}

impl FieldGroup {
    pub fn name(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Red => "red",
            Self::Blue => "blue",
        }
    }

    pub fn writers(self) -> &'static [Role] {
        match self {
            Self::Plan | Self::Red => RED_SIDE,
            Self::Blue => BLUE_SIDE,
        }
    }

    /// States in which the group may change: the red half until it is handed
    /// to blue, the blue half while blue evaluates, the plan until the end.
    pub fn open_in(self) -> &'static [TestState] {
        match self {
            Self::Plan => &[
                TestState::Draft,
                TestState::RedExecuting,
                TestState::BlueEvaluating,
            ],
            Self::Red => &[TestState::Draft, TestState::RedExecuting],
            Self::Blue => &[TestState::BlueEvaluating],
        }
    }
}

/// Which side of a test a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Side {
    Red,
    Blue,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Blue => "blue",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "red" => Some(Self::Red),
            "blue" => Some(Self::Blue),
            _ => None,
        }
    }

    /// The states in which this side takes files.
    pub fn open_states(self) -> &'static [TestState] {
        self.group().open_in()
    }

    fn group(self) -> FieldGroup {
        match self {
            Self::Red => FieldGroup::Red,
            Self::Blue => FieldGroup::Blue,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceRefusal {
    /// The role writes neither side (viewers).
    Role,
    /// The test is completed: its evidence is locked.
    Locked,
    /// The uploader's side is not open in this state.
    State,
}

/// The side a new file belongs to: red techs add red evidence, blue techs
/// blue evidence; leads and admins add to whichever side the state has open.
pub fn evidence_side(role: Role, state: TestState) -> Result<Side, EvidenceRefusal> {
    let side = match role {
        Role::RedTech => Side::Red,
        Role::BlueTech => Side::Blue,
        Role::Admin | Role::Lead if state == TestState::BlueEvaluating => Side::Blue,
        Role::Admin | Role::Lead => Side::Red,
        Role::Viewer => return Err(EvidenceRefusal::Role),
    };
    if state == TestState::Completed {
        return Err(EvidenceRefusal::Locked);
    }
    if side.group().open_in().contains(&state) {
        Ok(side)
    } else {
        Err(EvidenceRefusal::State)
    }
}

/// Whether a technician works on this test. Leads and admins work on every
/// test; a red tech on tests whose red assignee they are, or that have none
/// yet (open to the red team, and one they create is theirs); a blue tech
/// likewise on the blue side. Viewers work on none. So one technician cannot
/// edit, move, cancel or add evidence to a test a lead gave to another.
pub fn works_on(role: Role, user_id: &str, fields: &crate::model::TestFields) -> bool {
    let assignee = match role {
        Role::Admin | Role::Lead => return true,
        Role::Viewer => return false,
        Role::RedTech => fields.red_assignee_id.as_deref(),
        Role::BlueTech => fields.blue_assignee_id.as_deref(),
    };
    assignee.is_none_or(|assignee| assignee == user_id)
}

/// Who may be a test's red or blue assignee: someone of that side.
pub fn may_be_assignee(side: Side, role: Role) -> bool {
    match side {
        Side::Red => RED_SIDE.contains(&role),
        Side::Blue => BLUE_SIDE.contains(&role),
    }
}

/// What waits for one person ("my queue"), decided by their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queue {
    /// A red tech: their tests still on the red side (draft, red_executing).
    Red(String),
    /// A blue tech: tests in blue evaluation given to them or to nobody.
    Blue(String),
    /// Leads and admins: every test not finished (neither completed nor
    /// cancelled).
    Unfinished,
    /// Viewers: nothing waits for them.
    Nothing,
}

impl Queue {
    pub fn of(role: Role, user_id: &str) -> Self {
        match role {
            Role::RedTech => Self::Red(user_id.to_owned()),
            Role::BlueTech => Self::Blue(user_id.to_owned()),
            Role::Admin | Role::Lead => Self::Unfinished,
            Role::Viewer => Self::Nothing,
        }
    }

    /// The states a test of this queue is in.
    pub fn states(&self) -> &'static [TestState] {
        match self {
            Self::Red(_) => Transition::Cancel.from_states(),
            Self::Blue(_) => Transition::Complete.from_states(),
            Self::Unfinished => FieldGroup::Plan.open_in(),
            Self::Nothing => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_its_queue() {
        assert_eq!(
            Queue::of(Role::RedTech, "u").states(),
            [TestState::Draft, TestState::RedExecuting]
        );
        assert_eq!(
            Queue::of(Role::BlueTech, "u").states(),
            [TestState::BlueEvaluating]
        );
        for lead in [Role::Lead, Role::Admin] {
            assert_eq!(
                Queue::of(lead, "u").states(),
                [
                    TestState::Draft,
                    TestState::RedExecuting,
                    TestState::BlueEvaluating
                ]
            );
        }
        assert!(Queue::of(Role::Viewer, "u").states().is_empty());
        assert!(may_be_assignee(Side::Red, Role::Lead));
        assert!(!may_be_assignee(Side::Red, Role::BlueTech));
        assert!(!may_be_assignee(Side::Blue, Role::Viewer));
    }

    #[test]
    fn every_state_is_reachable_and_only_cancelled_is_a_dead_end() {
        for state in TestState::ALL {
            let leaves = Transition::ALL
                .iter()
                .any(|t| t.from_states().contains(&state));
            assert_eq!(leaves, state != TestState::Cancelled, "{state:?}");
            if state != TestState::Draft {
                assert!(Transition::ALL.iter().any(|t| t.to_state() == state));
            }
        }
    }

    #[test]
    fn evidence_sides_follow_role_and_state() {
        use TestState::*;
        assert_eq!(evidence_side(Role::RedTech, Draft), Ok(Side::Red));
        assert_eq!(
            evidence_side(Role::RedTech, BlueEvaluating),
            Err(EvidenceRefusal::State)
        );
        assert_eq!(
            evidence_side(Role::BlueTech, BlueEvaluating),
            Ok(Side::Blue)
        );
        assert_eq!(
            evidence_side(Role::BlueTech, RedExecuting),
            Err(EvidenceRefusal::State)
        );
        assert_eq!(evidence_side(Role::Lead, BlueEvaluating), Ok(Side::Blue));
        assert_eq!(evidence_side(Role::Admin, RedExecuting), Ok(Side::Red));
        assert_eq!(
            evidence_side(Role::Lead, Completed),
            Err(EvidenceRefusal::Locked)
        );
        assert_eq!(
            evidence_side(Role::Viewer, Draft),
            Err(EvidenceRefusal::Role)
        );
        assert_eq!(
            evidence_side(Role::Admin, Cancelled),
            Err(EvidenceRefusal::State)
        );
    }
}
