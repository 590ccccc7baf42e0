//! Instances as entities: one sprite per live instance, grouped by pool, coloured by
//! version, shaded by lifecycle state, with a bar for its load. Entities appear,
//! change and despawn as the simulation says.

use bevy::prelude::*;

use super::session::Session;
use crate::model::fleet::{BASELINE, Instance, NEW, POOLS, Phase, STABLE};

/// Where the scene may draw, in world coordinates (the window minus the panels).
#[derive(Resource, Clone, Copy, Debug, PartialEq)]
pub struct SceneRect {
    pub min: Vec2,
    pub max: Vec2,
}

impl Default for SceneRect {
    fn default() -> Self {
        SceneRect { min: Vec2::new(-640.0, -400.0), max: Vec2::new(640.0, 400.0) }
    }
}

impl SceneRect {
    pub fn width(&self) -> f32 {
        self.max.x - self.min.x
    }
    pub fn height(&self) -> f32 {
        self.max.y - self.min.y
    }
    /// The fleet's part of the scene: the right 55 %.
    pub fn fleet(&self) -> SceneRect {
        SceneRect {
            min: Vec2::new(self.min.x + 0.45 * self.width(), self.min.y + 8.0),
            max: self.max - Vec2::new(8.0, 28.0),
        }
    }
}

/// The mirror of one instance.
#[derive(Component, Clone, Debug, PartialEq)]
pub struct InstanceView {
    pub id: u32,
    pub pool: u8,
    pub phase: Phase,
    pub ready: bool,
    /// In service and queued, over concurrency (capped at 1).
    pub load: f32,
}

/// The load bar inside an instance.
#[derive(Component)]
pub struct LoadBar;

/// Entity of each instance id, `None` once terminated.
#[derive(Resource, Default)]
pub struct InstanceEntities(pub Vec<Option<Entity>>);

/// Hides the fleet (the compare view draws its own lanes).
#[derive(Resource, Default)]
pub struct FleetHidden(pub bool);

/// One pool's band in the fleet area.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoolBand {
    pub pool: u8,
    pub rect: SceneRect,
    pub cols: usize,
    pub cell: f32,
}

impl PoolBand {
    /// Centre of the `k`-th instance of the band.
    pub fn slot(&self, k: usize) -> Vec2 {
        let (c, r) = (k % self.cols, k / self.cols);
        Vec2::new(self.rect.min.x + (c as f32 + 0.5) * self.cell, self.rect.max.y - 18.0 - (r as f32 + 0.5) * self.cell)
    }
}

/// Lays out pools as horizontal bands (stable, new, baseline), each a grid whose cell
/// size fits its count, so the picture reads from 3 to hundreds of instances.
pub fn layout_pools(area: SceneRect, counts: [usize; POOLS]) -> Vec<PoolBand> {
    let shown: Vec<u8> =
        [STABLE, NEW, BASELINE].into_iter().filter(|&p| counts[p as usize] > 0 || p == STABLE).collect();
    let weight = |p: u8| (counts[p as usize].max(1) as f32).sqrt().max(1.5);
    let total: f32 = shown.iter().map(|&p| weight(p)).sum();
    let mut top = area.max.y;
    shown
        .into_iter()
        .map(|p| {
            let h = area.height() * weight(p) / total;
            let rect = SceneRect { min: Vec2::new(area.min.x, top - h), max: Vec2::new(area.max.x, top) };
            top -= h;
            let n = counts[p as usize].max(1);
            let (w, hh) = (rect.width().max(1.0), (rect.height() - 22.0).max(1.0));
            let mut cols = ((n as f32 * w / hh).sqrt().ceil() as usize).clamp(1, n);
            while cols < n && (n.div_ceil(cols) as f32) * (w / cols as f32) > hh {
                cols += 1;
            }
            let rows = n.div_ceil(cols);
            let cell = (w / cols as f32).min(hh / rows as f32).min(64.0);
            PoolBand { pool: p, rect, cols, cell }
        })
        .collect()
}

pub fn pool_color(pool: u8) -> Color {
    match pool {
        NEW => Color::srgb(0.25, 0.80, 0.45),
        BASELINE => Color::srgb(0.62, 0.62, 0.75),
        _ => Color::srgb(0.30, 0.55, 0.95),
    }
}

/// Colour of an instance: its version's, faded while it cannot serve, red when crashed.
pub fn instance_color(v: &InstanceView) -> Color {
    match v.phase {
        Phase::Backoff => Color::srgb(0.90, 0.22, 0.22),
        Phase::Down => Color::srgb(0.35, 0.35, 0.38),
        Phase::Pending | Phase::Booting => pool_color(v.pool).with_alpha(0.30),
        Phase::Draining | Phase::Updating => pool_color(v.pool).with_alpha(0.25),
        Phase::Terminated => Color::NONE,
        Phase::Running if !v.ready => pool_color(v.pool).with_alpha(0.55),
        Phase::Running => pool_color(v.pool),
    }
}

fn view_of(i: &Instance, concurrency: f32) -> InstanceView {
    InstanceView {
        id: i.id,
        pool: i.version,
        phase: i.phase,
        ready: i.ready,
        load: ((i.serving() + i.queue.len()) as f32 / concurrency).min(1.0),
    }
}

/// Mirrors the fleet into entities.
pub struct FleetViewPlugin;

impl Plugin for FleetViewPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SceneRect>()
            .init_resource::<InstanceEntities>()
            .init_resource::<FleetHidden>()
            .add_systems(PostUpdate, sync_fleet);
    }
}

#[allow(clippy::type_complexity)]
fn sync_fleet(
    mut commands: Commands,
    session: Res<Session>,
    area: Res<SceneRect>,
    hidden: Res<FleetHidden>,
    mut entities: ResMut<InstanceEntities>,
    mut views: Query<(&mut InstanceView, &mut Transform, &mut Sprite, &mut Visibility, &Children), Without<LoadBar>>,
    mut bars: Query<(&mut Transform, &mut Sprite), With<LoadBar>>,
) {
    let fleet = session.sim.fleet();
    let concurrency = session.scenario.service.concurrency.0 as f32;
    if entities.0.len() < fleet.instances.len() {
        entities.0.resize(fleet.instances.len(), None);
    }
    let mut counts = [0usize; POOLS];
    for &id in &fleet.active {
        counts[fleet.instances[id as usize].version as usize] += 1;
    }
    let bands = layout_pools(area.fleet(), counts);
    let mut index = [0usize; POOLS];
    let visibility = if hidden.0 { Visibility::Hidden } else { Visibility::Inherited };
    for &id in &fleet.active {
        let inst = &fleet.instances[id as usize];
        let view = view_of(inst, concurrency);
        let p = view.pool as usize;
        let Some(band) = bands.iter().find(|b| b.pool == view.pool) else { continue };
        let pos = band.slot(index[p]);
        index[p] += 1;
        let size = (band.cell * 0.82).max(2.0);
        let shrink = if view.phase == Phase::Draining { 0.7 } else { 1.0 };
        let color = instance_color(&view);
        let bar_h = size * 0.8 * view.load;
        match entities.0[id as usize].and_then(|e| views.get_mut(e).ok()) {
            Some((mut v, mut t, mut sprite, mut vis, children)) => {
                t.translation = pos.extend(1.0);
                sprite.color = color;
                sprite.custom_size = Some(Vec2::splat(size * shrink));
                *vis = visibility;
                if let Some(&bar) = children.first()
                    && let Ok((mut bt, mut bs)) = bars.get_mut(bar)
                {
                    bs.custom_size = Some(Vec2::new(size * 0.25, bar_h.max(0.0)));
                    bt.translation = Vec3::new(size * 0.3, -size * 0.4 + bar_h / 2.0, 0.5);
                }
                if *v != view {
                    *v = view;
                }
            }
            None => {
                let e = commands
                    .spawn((
                        view,
                        Sprite::from_color(color, Vec2::splat(size)),
                        Transform::from_translation(pos.extend(1.0)),
                        visibility,
                    ))
                    .with_children(|c| {
                        c.spawn((
                            LoadBar,
                            Sprite::from_color(
                                Color::srgba(1.0, 1.0, 1.0, 0.55),
                                Vec2::new(size * 0.25, bar_h.max(0.0)),
                            ),
                            Transform::from_xyz(size * 0.3, -size * 0.4 + bar_h / 2.0, 0.5),
                        ));
                    })
                    .id();
                entities.0[id as usize] = Some(e);
            }
        }
    }
    for (id, slot) in entities.0.iter_mut().enumerate() {
        let gone = fleet.instances.get(id).is_none_or(|i| !i.alive());
        if gone && let Some(e) = slot.take() {
            commands.entity(e).despawn();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::session::{Action, Actions, SimPlugin};
    use crate::scenario::Command;
    use crate::scenario::RolloutCommand;

    const SCENARIO: &str = r#"Scenario(name: "t", seed: 1, duration: "20m",
        traffic: (users: 1000, rate: Constant(rps: 50)),
        fleet: (replicas: 4, instance: (boot: "10s")),
        release: (at: "1m"), strategy: Rolling(max_surge: 1, max_unavailable: 0))"#;

    fn app() -> App {
        let mut session = Session::from_text("t.ron", SCENARIO, None).expect("test scenario");
        session.playing = false;
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).insert_resource(session).add_plugins((SimPlugin, FleetViewPlugin));
        app
    }

    fn views(app: &mut App) -> Vec<InstanceView> {
        let mut q = app.world_mut().query::<&InstanceView>();
        let mut v: Vec<InstanceView> = q.iter(app.world()).cloned().collect();
        v.sort_by_key(|v| v.id);
        v
    }

    #[test]
    fn instance_entities_follow_the_fleet() {
        let mut app = app();
        app.update();
        let v = views(&mut app);
        assert_eq!(v.len(), 4);
        assert!(v.iter().all(|v| v.pool == STABLE && v.ready));
        // Just after the release: one surge instance of the new version, booting.
        app.world_mut().resource_mut::<Session>().jump_to(61.0);
        app.update();
        let v = views(&mut app);
        assert_eq!(v.len(), 5);
        let new: Vec<&InstanceView> = v.iter().filter(|v| v.pool == NEW).collect();
        assert_eq!(new.len(), 1);
        assert!(!new[0].ready && matches!(new[0].phase, Phase::Booting | Phase::Pending));
        // Later it is ready; at the end only new instances remain, old ones despawned.
        app.world_mut().resource_mut::<Session>().jump_to(600.0);
        app.update();
        let v = views(&mut app);
        assert_eq!(v.len(), 4);
        assert!(v.iter().all(|v| v.pool == NEW && v.ready), "{v:?}");
        let alive = app.world().resource::<Session>().sim.fleet().alive_count();
        assert_eq!(alive, 4);
    }

    #[test]
    fn crashing_an_instance_shows_it_crashed() {
        let mut app = app();
        app.update();
        app.world_mut().resource_mut::<Actions>().0.push(Action::Command(Command::CrashInstance(2)));
        app.update();
        app.update();
        let v = views(&mut app);
        let crashed = v.iter().find(|v| v.id == 2).expect("still there, restarting");
        assert_eq!(crashed.phase, Phase::Backoff);
        assert_eq!(instance_color(crashed), Color::srgb(0.90, 0.22, 0.22));
    }

    #[test]
    fn button_actions_reach_the_simulation() {
        let mut app = app();
        app.world_mut().resource_mut::<Session>().jump_to(70.0);
        for a in [
            Action::Command(Command::Rollout(RolloutCommand::Pause)),
            Action::Command(Command::Rollout(RolloutCommand::Resume)),
            Action::Command(Command::Rollout(RolloutCommand::Abort)),
            Action::Command(Command::KillSwitch),
        ] {
            app.world_mut().resource_mut::<Actions>().0.push(a);
        }
        app.update();
        let s = app.world().resource::<Session>();
        let recorded: Vec<&Command> = s.sim.commands().iter().map(|c| &c.command).collect();
        assert_eq!(recorded.len(), 4);
        assert_eq!(recorded[2], &Command::Rollout(RolloutCommand::Abort));
        assert!(s.sim.rollout().abort_at.is_some());
    }

    #[test]
    fn playing_advances_by_speed_times_frame_time_within_budget() {
        let mut app = app();
        {
            let mut s = app.world_mut().resource_mut::<Session>();
            s.playing = true;
            s.speed = 60.0;
        }
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(std::time::Duration::from_millis(50)));
        for _ in 0..5 {
            app.update();
        }
        // 60× for 4 frames of 50 ms after the first (which has no delta): 12 s.
        let now = app.world().resource::<Session>().sim.now().as_secs_f64();
        assert!((now - 12.0).abs() < 3.1, "{now}");
    }

    #[test]
    fn layout_fits_3_to_200_instances_without_overlap() {
        let area = SceneRect::default().fleet();
        for n in [3usize, 10, 50, 200] {
            let bands = layout_pools(area, [n, n / 2, 0]);
            for b in &bands {
                let count = if b.pool == STABLE { n } else { n / 2 };
                if count == 0 {
                    continue;
                }
                let last = b.slot(count - 1);
                assert!(last.y - b.cell / 2.0 >= b.rect.min.y - 0.5, "{n}: pool {} overflows", b.pool);
                assert!(b.cell >= 4.0, "{n}: cells too small ({})", b.cell);
            }
        }
    }
}
