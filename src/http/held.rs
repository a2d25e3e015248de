//! A response body that keeps something alive until the body has been written out: the
//! dispatcher polls a body to its end only once every byte of it is in its write buffer, so
//! what the body holds is let go exactly when the client has (nearly) taken the answer.
//!
//! Used for a heavy key's turn (its next request waits until this answer is written, so a
//! client that reads nothing holds one rendered answer of its key's, not one per pipelined
//! request), for a large answer's place in the budget of unsent bytes (`in_flight`), and for a
//! chunked request's unread body (see `negotiate`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, Error, HttpMessage};

use super::in_flight::Turn;
use super::AppState;

pub struct Held<B, T> {
    pub body: B,
    /// Dropped with the body.
    pub _held: T,
}

impl<B: MessageBody + Unpin, T: Unpin> MessageBody for Held<B, T> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// Where a request's handler leaves its key's turn, to be held by the answer's body.
#[derive(Clone, Default)]
pub struct TurnSlot(Arc<Mutex<Option<Turn>>>);

impl TurnSlot {
    /// The request's slot, if the middleware gave it one.
    pub fn of(request: &impl HttpMessage) -> Option<TurnSlot> {
        request.extensions().get::<TurnSlot>().cloned()
    }

    pub fn put(&self, turn: Turn) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(turn);
        }
    }

    fn take(&self) -> Option<Turn> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Gives each request a [`TurnSlot`]; a turn left in it is held by the answer's body.
pub async fn turns_held_until_written(
    request: ServiceRequest,
    next: Next<impl MessageBody + Unpin + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let slot = TurnSlot::default();
    request.extensions_mut().insert(slot.clone());
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(request).await?;
    let turn = slot.take();
    let unsent = match (response.response().body().size(), &state) {
        (BodySize::Sized(bytes), Some(state)) => state
            .in_flight
            .unsent(usize::try_from(bytes).unwrap_or(usize::MAX)),
        _ => None,
    };
    Ok(response.map_body(|_, body| Held {
        body,
        _held: (turn, unsent),
    }))
}
