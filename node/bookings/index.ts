export * from "./model.js";
export { Bookings, engagementsSpec, outboxSpec, type Booking, type BookingFilter } from "./bookings.js";
